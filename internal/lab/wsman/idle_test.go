package wsman_test

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// createShell sends a Create as a client that asks for idleTimeOut ("" asks for none) and returns the HTTP status
// and the reply.
func createShell(t *testing.T, srv *wsman.Server, idleTimeOut string) (int, string) {
	t.Helper()
	shell := `<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>`
	if idleTimeOut != "" {
		shell = `<rsp:IdleTimeOut>` + idleTimeOut + `</rsp:IdleTimeOut>` + shell
	}
	envelope := `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ` +
		`xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">` +
		`<env:Header><a:Action>http://schemas.xmlsoap.org/ws/2004/09/transfer/Create</a:Action><a:MessageID>uuid:1</a:MessageID>` +
		`<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI></env:Header>` +
		`<env:Body><rsp:Shell>` + shell + `</rsp:Shell></env:Body></env:Envelope>`
	req, err := http.NewRequest(http.MethodPost, srv.URL(), strings.NewReader(envelope))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/soap+xml;charset=UTF-8")
	req.SetBasicAuth("localadmin", "L0cal!")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

var grantedIdle = regexp.MustCompile(`<rsp:IdleTimeOut>([^<]*)</rsp:IdleTimeOut>`)

func TestShellIdleTimeoutIsTheSmallerOfRequestAndSetting(t *testing.T) {
	srv := start(t, wsman.Options{ShellIdleTimeout: time.Hour, MaxShellsPerUser: 100})
	for requested, want := range map[string]string{
		"":             "PT3600.000S", // none asked: the setting
		"PT0S":         "PT3600.000S", // 0 asks for the setting, as idleTimeoutMs 0 does
		"PT60S":        "PT60.000S",
		"PT5S":         "PT60.000S", // below the documented minimum of one minute
		"PT0.001S":     "PT60.000S",
		"PT60.500S":    "PT60.500S",
		"PT1M":         "PT60.000S",
		"PT7200.000S":  "PT3600.000S", // more than the setting allows
		"P1DT2H":       "PT3600.000S",
		"P1Y":          "PT3600.000S",
		"PT0H30M0.25S": "PT1800.250S",
	} {
		status, body := createShell(t, srv, requested)
		m := grantedIdle.FindStringSubmatch(body)
		if status != http.StatusOK || m == nil || m[1] != want {
			t.Errorf("IdleTimeOut %q: status %d, granted %v, want %s", requested, status, m, want)
		}
	}
	// Windows refuses a value that is not an xs:duration (pywinrm sent milliseconds) as a schema violation.
	for _, bad := range []string{"3600000", "PT", "P", "PT-5S", "60S", "PT1.S"} {
		status, body := createShell(t, srv, bad)
		if status != http.StatusInternalServerError || !strings.Contains(body, "w:SchemaValidationError") || !strings.Contains(body, `Code="2150858817"`) {
			t.Errorf("IdleTimeOut %q: status %d, body %.300s; want the schema validation fault", bad, status, body)
		}
	}
}

func TestIdleShellsExpire(t *testing.T) {
	t.Run("at the server's setting when the client asks for nothing", func(t *testing.T) {
		srv := start(t, wsman.Options{ShellIdleTimeout: 100 * time.Millisecond})
		c := libraryClient(t, srv, "localadmin", "L0cal!", false)
		shell, err := c.CreateShell() // the library asks for no idle timeout
		if err != nil {
			t.Fatal(err)
		}
		poll.Until(t, "the idle shell expires", func() bool { return srv.Counters().OpenShells == 0 })
		if n := srv.Counters().ShellsExpired; n != 1 {
			t.Errorf("ShellsExpired = %d, want 1", n)
		}
		_, err = shell.ExecuteWithContext(context.Background(), "hostname")
		wantFault(t, err, "2150858843") // the client's shell id is now unknown
	})
	t.Run("at the client's request when it is smaller", func(t *testing.T) {
		// Two hours, as Windows Server commonly has it, and a floor below Windows' one minute to keep the test short.
		srv := start(t, wsman.Options{MinShellIdleTimeout: 50 * time.Millisecond})
		if status, body := createShell(t, srv, "PT0.1S"); status != http.StatusOK {
			t.Fatalf("Create: %d %s", status, body)
		}
		poll.Until(t, "the shell expires at the requested timeout", func() bool { return srv.Counters().ShellsExpired == 1 })
	})
	t.Run("not while a command runs", func(t *testing.T) {
		srv := start(t, wsman.Options{ShellIdleTimeout: 50 * time.Millisecond, ReceiveWait: time.Second})
		srv.Faults().SetHangCommands(true)
		c := libraryClient(t, srv, "localadmin", "L0cal!", false)
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		_, _, _, _ = c.RunCmdWithContext(ctx, "hostname") // hangs until the deadline, then signals and deletes
		counters := srv.Counters()
		if counters.ShellsExpired != 0 || counters.Actions["Delete"] != 1 {
			t.Errorf("a shell with a running command expired (%d expired, %d deleted by the client)", counters.ShellsExpired, counters.Actions["Delete"])
		}
	})
}

func TestPeakShellsPerUser(t *testing.T) {
	srv := start(t, wsman.Options{})
	local := libraryClient(t, srv, "localadmin", "L0cal!", false)
	domain := libraryClient(t, srv, `CORP\admin`, "S3cret!", true)
	for range 3 {
		if _, err := local.CreateShell(); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := domain.CreateShell(); err != nil {
			t.Fatal(err)
		}
	}
	if c := srv.Counters(); c.PeakShellsPerUser != 3 || c.OpenShells != 5 {
		t.Errorf("peak per user %d, open %d; want 3 and 5", c.PeakShellsPerUser, c.OpenShells)
	}
}
