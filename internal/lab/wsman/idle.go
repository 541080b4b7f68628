package wsman

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// DefaultShellIdleTimeout is the idle timeout of a shell whose client asked for none: `winrm get winrm/config/winrs`
// on Windows Server commonly shows IdleTimeout = 7200000 ms (two hours), although the MS-WSMV 2.2.4.42 WinrsType
// schema gives 180000 ms as its default.
const DefaultShellIdleTimeout = 2 * time.Hour

// DefaultMinShellIdleTimeout is the least idle timeout a client's request gets: one minute, as on Windows.
const DefaultMinShellIdleTimeout = time.Minute

// Shells expire when idle, as on Windows:
//   - "idleTimeoutMs: the maximum duration, in milliseconds, the shell will stay open without any client request.
//     When the maximum duration is exceeded, the shell is automatically deleted. [...] When an explicit value is
//     given, the minimum of the explicit value and the value from the GPO/local configuration is used"
//     (WSMAN_SHELL_STARTUP_INFO_V10, wsman.h): the client's rsp:IdleTimeOut is honoured up to Options.ShellIdleTimeout;
//   - "If the Shell is reused within this time limit, the countdown timer is reset once the command sequence is
//     completed" (MS-WSMV, the IdleTimeoutms quota): a shell whose command still runs is not idle, and every request
//     on the shell restarts the count.
//
//   - "Any value from 0 to 0x7FFFFFFF can be set. A minimum of 60000 milliseconds (1 minute) is used for smaller
//     values" (the Group Policy "Specify idle Timeout" of Windows Remote Shell; MS-WSMV's IdleTimeoutms quota:
//     "The minimum value MUST be 60000"): a request below one minute gets one minute (Options.MinShellIdleTimeout),
//     never more than the setting.
//
// "PT0S" asks for the configured value, as idleTimeoutMs 0 does.

// idleTimeoutFor returns the idle timeout of a new shell from the client's rsp:IdleTimeOut ("" when absent).
func (s *Server) idleTimeoutFor(requested string) (time.Duration, *Fault) {
	if requested == "" {
		return s.opts.ShellIdleTimeout, nil
	}
	d, err := parseDuration(requested)
	if err != nil {
		// Windows answers a value that is not an xs:duration (pywinrm sent milliseconds) with this fault
		// (pywinrm issue 377, a WinRM trace from Windows Server).
		return 0, &Fault{Code: codeInvalidRequest, Subcode: "w:SchemaValidationError", Sender: true,
			Message: "The SOAP XML in the message does not match the corresponding XML schema definition. Change the XML and retry."}
	}
	if d == 0 || d > s.opts.ShellIdleTimeout {
		return s.opts.ShellIdleTimeout, nil
	}
	return min(max(d, s.opts.MinShellIdleTimeout), s.opts.ShellIdleTimeout), nil
}

var durationPattern = regexp.MustCompile(`^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseDuration reads a non-negative xs:duration such as PT60S, PT7200.000S or P1DT2H. Years and months count as
// 365 and 30 days: either exceeds any idle timeout Windows configures, so the precise length never matters here.
func parseDuration(text string) (time.Duration, error) {
	m := durationPattern.FindStringSubmatch(text)
	if m == nil || text == "P" || text[len(text)-1] == 'T' {
		return 0, fmt.Errorf("%q is not an xs:duration", text)
	}
	units := []time.Duration{365 * 24 * time.Hour, 30 * 24 * time.Hour, 24 * time.Hour, time.Hour, time.Minute}
	var total time.Duration
	for i, unit := range units {
		if m[i+1] != "" {
			n, err := strconv.ParseInt(m[i+1], 10, 32)
			if err != nil {
				return 0, fmt.Errorf("%q: %w", text, err)
			}
			total += time.Duration(n) * unit
		}
	}
	if m[6] != "" {
		secs, err := strconv.ParseFloat(m[6], 64)
		if err != nil {
			return 0, fmt.Errorf("%q: %w", text, err)
		}
		total += time.Duration(secs * float64(time.Second))
	}
	return total, nil
}

// armIdleTimer starts the shell's idle countdown. Called with s.mu held.
func (s *Server) armIdleTimer(sh *shell) {
	sh.lastUsed = time.Now()
	sh.timer = time.AfterFunc(sh.idleTimeout, func() { s.expireIfIdle(sh) })
}

// expireIfIdle deletes the shell if no request used it for its idle timeout and none of its commands runs;
// otherwise it looks again when the timeout could next be reached.
func (s *Server) expireIfIdle(sh *shell) {
	s.mu.Lock()
	if _, open := s.shells[sh.id]; !open {
		s.mu.Unlock()
		return
	}
	commands := make([]*command, 0, len(sh.commands))
	for _, cmd := range sh.commands {
		commands = append(commands, cmd)
	}
	wait := time.Until(sh.lastUsed.Add(sh.idleTimeout))
	s.mu.Unlock()
	for _, cmd := range commands {
		if cmd.running() {
			wait = sh.idleTimeout
		}
	}
	if wait > 0 {
		s.mu.Lock()
		sh.timer.Reset(wait)
		s.mu.Unlock()
		return
	}
	s.counters.shellsExpired.Add(1)
	s.deleteShell(s.ctx, sh)
}

// running says whether the command has started and not yet ended.
func (cmd *command) running() bool {
	cmd.mu.Lock()
	started := cmd.started
	cmd.mu.Unlock()
	select {
	case <-cmd.done:
		return false
	default:
		return started
	}
}
