package wsman

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// ExecRequest is one command the WS-Management server hands to the executor.
type ExecRequest struct {
	Server        string // Options.Name of the server that runs it
	User          string // authenticated account, DOMAIN\user
	CommandLine   string
	EncodedScript string // decoded -EncodedCommand text, "" if none
	Stdin         []byte
}

// ExecResult is what the command printed and how it ended.
type ExecResult struct {
	Stdout, Stderr []byte
	ExitCode       int
}

// Executor runs commands. ctx is cancelled by Signal (terminate), Delete of the shell or the server's Close.
type Executor interface {
	Execute(ctx context.Context, req ExecRequest) ExecResult
}

// ExecutorFunc adapts a function to the Executor interface.
type ExecutorFunc func(ctx context.Context, req ExecRequest) ExecResult

// Execute calls f.
func (f ExecutorFunc) Execute(ctx context.Context, req ExecRequest) ExecResult { return f(ctx, req) }

// ExitTerminated is the exit code of a command stopped by a signal (STATUS_CONTROL_C_EXIT, as Windows reports it).
const ExitTerminated = 0xC000013A

// receiveChunk bounds each stream in one ReceiveResponse so that two base64 streams stay well under the
// 150 KB MaxEnvelopeSize clients announce.
const receiveChunk = 48 << 10

// signalWait bounds how long Signal and Delete wait for a cancelled command to return.
const signalWait = 10 * time.Second

type shell struct {
	id, owner   string
	idleTimeout time.Duration
	// guarded by Server.mu
	commands map[string]*command
	created  time.Time
	lastUsed time.Time   // the last request on the shell
	timer    *time.Timer // the idle countdown, see idle.go
}

type command struct {
	id         string
	readsStdin bool
	ctx        context.Context
	cancel     context.CancelFunc
	done       chan struct{} // closed once result is set

	mu         sync.Mutex
	req        ExecRequest
	started    bool
	result     ExecResult
	sentStdout int
	sentStderr int
}

// createShell opens a shell for user unless remote shells are refused (AllowRemoteShellAccess false) or the user
// already holds MaxShellsPerUser of them (5 unless set otherwise: internal/lab/WINDOWS.md, WinRM): Windows then refuses
// with the quota fault (w:QuotaLimit, ERROR_WSMAN_QUOTA_MAX_SHELLS 2150859173) until one is deleted or expires, which
// is how a client that never deletes its shells locks its account out.
func (s *Server) createShell(user string, idleTimeout time.Duration) (string, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	open := 0
	for _, sh := range s.shells {
		if sh.owner == user {
			open++
		}
	}
	if s.faults.shellAccessDenied.Load() {
		return "", shellsNotAllowedFault()
	}
	if open >= s.opts.MaxShellsPerUser {
		return "", shellQuotaFault(s.opts.MaxShellsPerUser)
	}
	sh := &shell{id: strings.ToUpper(uuid.NewString()), owner: user, idleTimeout: idleTimeout, commands: map[string]*command{}, created: time.Now()}
	s.shells[sh.id] = sh
	s.armIdleTimer(sh)
	s.counters.openShells.Add(1)
	raise(&s.counters.peakShellsPerUser, int64(open+1))
	return sh.id, nil
}

// shellFor returns the caller's shell; another user's shell is as unknown as a missing one. Every request that
// names a shell restarts its idle count.
func (s *Server) shellFor(user, id string) (*shell, *Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh, ok := s.shells[id]
	if !ok || sh.owner != user {
		return nil, invalidShellFault(id)
	}
	sh.lastUsed = time.Now()
	return sh, nil
}

func (s *Server) commandFor(user, shellID, commandID string) (*command, *Fault) {
	sh, fault := s.shellFor(user, shellID)
	if fault != nil {
		return nil, fault
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd, ok := sh.commands[commandID]
	if !ok {
		f := invalidShellFault(shellID)
		f.Message = "The request for the command " + commandID + " failed because the command was not found in shell " + shellID + "."
		return nil, f
	}
	return cmd, nil
}

func (s *Server) newCommand(user, shellID, commandLine string) (*command, *Fault) {
	sh, fault := s.shellFor(user, shellID)
	if fault != nil {
		return nil, fault
	}
	script, err := DecodeEncodedCommand(commandLine)
	if err != nil {
		return nil, invalidRequestFault("The command line cannot be decoded: %v", err)
	}
	ctx, cancel := context.WithCancel(s.ctx)
	cmd := &command{
		id:         strings.ToUpper(uuid.NewString()),
		readsStdin: script != "" && readsStdin(script),
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
		req:        ExecRequest{Server: s.opts.Name, User: user, CommandLine: commandLine, EncodedScript: script},
	}
	s.mu.Lock()
	sh.commands[cmd.id] = cmd
	s.mu.Unlock()
	if !cmd.readsStdin {
		s.start(cmd)
	}
	return cmd, nil
}

// start runs the command once; later calls do nothing.
func (s *Server) start(cmd *command) {
	cmd.mu.Lock()
	defer cmd.mu.Unlock()
	if cmd.started {
		return
	}
	cmd.started = true
	req := cmd.req
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.counters.commandStarted()
		result := s.execute(cmd.ctx, req)
		cmd.mu.Lock()
		cmd.result = result
		cmd.mu.Unlock()
		s.counters.running.Add(-1)
		close(cmd.done)
	}()
}

func (s *Server) execute(ctx context.Context, req ExecRequest) ExecResult {
	terminated := ExecResult{ExitCode: ExitTerminated}
	if d := time.Duration(s.faults.startLatency.Load()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return terminated
		}
	}
	if gate := s.faults.hanging(); gate != nil {
		select {
		case <-ctx.Done():
			return terminated
		case <-gate.done:
			if !gate.run {
				return terminated
			}
		}
	}
	if ctx.Err() != nil {
		return terminated
	}
	return s.opts.Executor.Execute(ctx, req)
}

// stdin returns the input the command received.
func (cmd *command) stdin() []byte {
	cmd.mu.Lock()
	defer cmd.mu.Unlock()
	return cmd.req.Stdin
}

// sendInput appends stdin; the last chunk (End="true") starts a command that reads its input.
func (s *Server) sendInput(cmd *command, data []byte, end bool) {
	cmd.mu.Lock()
	if !cmd.started {
		cmd.req.Stdin = append(cmd.req.Stdin, data...)
	}
	cmd.mu.Unlock()
	if end {
		s.start(cmd)
	}
}

// receive long-polls until the command is done or wait elapses, then returns the next piece of output.
func (s *Server) receive(ctx context.Context, cmd *command, wait time.Duration) (string, *Fault) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-cmd.done:
	case <-t.C:
		return "", operationTimeoutFault()
	case <-ctx.Done():
		return "", operationTimeoutFault()
	}
	cmd.mu.Lock()
	defer cmd.mu.Unlock()
	var b strings.Builder
	b.WriteString("<rsp:ReceiveResponse>")
	stdoutDone := writeStream(&b, cmd.id, "stdout", cmd.result.Stdout, &cmd.sentStdout)
	stderrDone := writeStream(&b, cmd.id, "stderr", cmd.result.Stderr, &cmd.sentStderr)
	if stdoutDone && stderrDone {
		fmt.Fprintf(&b, `<rsp:CommandState CommandId="%s" State="%s"><rsp:ExitCode>%d</rsp:ExitCode></rsp:CommandState>`,
			cmd.id, commandStateDone, cmd.result.ExitCode)
	} else {
		fmt.Fprintf(&b, `<rsp:CommandState CommandId="%s" State="%s"/>`, cmd.id, commandStateRunning)
	}
	b.WriteString("</rsp:ReceiveResponse>")
	return b.String(), nil
}

// writeStream writes the next chunk of data after *sent and reports whether the stream is now complete.
func writeStream(b *strings.Builder, commandID, name string, data []byte, sent *int) bool {
	chunk := data[*sent:min(len(data), *sent+receiveChunk)]
	*sent += len(chunk)
	end := *sent == len(data)
	endAttr := ""
	if end {
		endAttr = ` End="true"`
	}
	if len(chunk) > 0 || end {
		fmt.Fprintf(b, `<rsp:Stream Name="%s" CommandId="%s"%s>%s</rsp:Stream>`,
			name, commandID, endAttr, base64.StdEncoding.EncodeToString(chunk))
	}
	return end
}

// terminate stops a command (running or not yet started) and forgets it.
func (s *Server) terminate(ctx context.Context, sh *shell, cmd *command) {
	cmd.cancel()
	cmd.mu.Lock()
	if !cmd.started {
		cmd.started = true
		cmd.result = ExecResult{ExitCode: ExitTerminated}
		close(cmd.done)
	}
	cmd.mu.Unlock()
	waitDone(ctx, cmd.done)
	s.mu.Lock()
	delete(sh.commands, cmd.id)
	s.mu.Unlock()
}

// deleteShell terminates every command of the shell and removes it.
func (s *Server) deleteShell(ctx context.Context, sh *shell) {
	s.mu.Lock()
	if _, ok := s.shells[sh.id]; !ok {
		s.mu.Unlock()
		return
	}
	delete(s.shells, sh.id)
	sh.timer.Stop()
	commands := make([]*command, 0, len(sh.commands))
	for _, cmd := range sh.commands {
		commands = append(commands, cmd)
	}
	s.mu.Unlock()
	s.counters.openShells.Add(-1)
	for _, cmd := range commands {
		s.terminate(ctx, sh, cmd)
	}
}

func waitDone(ctx context.Context, done <-chan struct{}) {
	t := time.NewTimer(signalWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	case <-ctx.Done():
	}
}
