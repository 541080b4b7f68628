package lab_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// statusClient verifies the status endpoint with the lab's CA bundle, as curl --cacert would.
func statusClient(t *testing.T, info lab.Info) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(info.CACertificatePEM)) {
		t.Fatal("no CA certificate in Info")
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
}

type labStatus struct {
	Servers map[string]struct {
		Counters struct {
			HTTPRequests    int64            `json:"http_requests"`
			OpenShells      int64            `json:"open_shells"`
			ShellsExpired   int64            `json:"shells_expired"`
			CommandsStarted int64            `json:"commands_started"`
			Actions         map[string]int64 `json:"actions"`
		} `json:"counters"`
		CommandsPerScript map[string]int64 `json:"commands_per_script"`
		Faults            struct {
			HangCommands  bool              `json:"hang_commands"`
			QuotaNext     int               `json:"quota_next"`
			ActionLatency map[string]string `json:"action_latency"`
		} `json:"faults"`
	} `json:"servers"`
}

// call sends one request to the status endpoint with the given credentials and decodes a 200 answer into out.
func call(t *testing.T, hc *http.Client, info lab.Info, method, path, body, user, password string, out any) int {
	t.Helper()
	url := strings.TrimSuffix(info.StatusURL, "/status") + path
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusOK && out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestStatusEndpointShowsCountersAndSetsFaults(t *testing.T) {
	l := startLab(t, lab.Config{ShellIdleTimeout: 200 * time.Millisecond, ReestablishDelay: reestablishDelay})
	info := l.Info()
	hc := statusClient(t, info)
	user, password := info.WinRMUsername, info.WinRMPassword

	for name, creds := range map[string][2]string{"no credentials": {"", ""}, "wrong password": {user, "wrong"}, "other user": {"admin", password}} {
		if code := call(t, hc, info, http.MethodGet, "/status", "", creds[0], creds[1], nil); code != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, code)
		}
	}

	// A client that keeps its shell pooled and forgets it: the lab's short idle timeout expires it.
	s := info.Servers[0]
	c, err := winrm.NewClient(winrm.Config{Host: s.Address, Port: s.Port, HTTPS: true, CACertPEM: []byte(info.CACertificatePEM),
		Username: user, Password: password, ShellIdle: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ra, err := remoteaccess.NewCluster(map[string]remoteaccess.Runner{s.Name: c})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ra.GetIPsecSAs(deadline(t, 2*time.Minute), []string{`CORP\CLIENT1$`}); err != nil {
		t.Fatal(err)
	}
	var st labStatus
	poll.Until(t, "the status shows the forgotten shell expired", func() bool {
		if code := call(t, hc, info, http.MethodGet, "/status", "", user, password, &st); code != http.StatusOK {
			t.Fatalf("GET /status: %d", code)
		}
		return st.Servers[s.Name].Counters.ShellsExpired == 1
	})
	ras1 := st.Servers[s.Name]
	if ras1.Counters.ShellsExpired != 1 || ras1.Counters.OpenShells != 0 || ras1.Counters.CommandsStarted != 1 ||
		ras1.Counters.HTTPRequests == 0 || ras1.Counters.Actions["Command"] != 1 {
		t.Errorf("%s counters = %+v, want one command and its forgotten shell expired", s.Name, ras1.Counters)
	}
	var scripts int64
	for name, n := range ras1.CommandsPerScript {
		if !strings.HasSuffix(name, "/v1") {
			t.Errorf("commands per script names %q, want a script identifier", name)
		}
		scripts += n
	}
	if scripts != 1 {
		t.Errorf("commands per script = %v, want the one run", ras1.CommandsPerScript)
	}

	other := info.Servers[1].Name
	if code := call(t, hc, info, http.MethodPost, "/faults?server="+s.Name, `{"hang_commands": true, "quota_next": 2, "action_latency": {"Delete": "300ms"}}`, user, password, &st); code != http.StatusOK {
		t.Fatalf("POST /faults: %d", code)
	}
	if set := l.Server(s.Name).Faults().Settings(); !set.HangCommands || set.QuotaNext != 2 || set.ActionLatency["Delete"] != 300*time.Millisecond {
		t.Errorf("%s faults = %+v after the POST", s.Name, set)
	}
	if st.Servers[s.Name].Faults.ActionLatency["Delete"] != "300ms" || st.Servers[other].Faults.HangCommands {
		t.Errorf("the answer shows %+v", st.Servers)
	}
	for _, bad := range []string{`{"request_latency": "soon"}`, `{"quota_next": -1}`, `{"hang": true}`, `{"reset": true} {}`} {
		if code := call(t, hc, info, http.MethodPost, "/faults", bad, user, password, nil); code != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, code)
		}
	}
	if code := call(t, hc, info, http.MethodPost, "/faults?server=RAS9", `{}`, user, password, nil); code != http.StatusNotFound {
		t.Errorf("an unknown server: %d, want 404", code)
	}
	if !l.Server(s.Name).Faults().Settings().HangCommands {
		t.Error("a refused request changed the faults")
	}
	if code := call(t, hc, info, http.MethodPost, "/faults", `{"reset": true}`, user, password, nil); code != http.StatusOK {
		t.Fatalf("reset: %d", code)
	}
	if set := l.Server(s.Name).Faults().Settings(); set.HangCommands || set.QuotaNext != 0 || len(set.ActionLatency) != 0 {
		t.Errorf("faults after reset = %+v", set)
	}
}

func TestShellIdleTimeoutInTheConfigFile(t *testing.T) {
	cfg, err := lab.ParseConfig([]byte(`{"shell_idle_timeout": "2s", "status_port": 0}`))
	if err != nil || cfg.ShellIdleTimeout != 2*time.Second {
		t.Errorf("ParseConfig = %+v, %v", cfg, err)
	}
	if _, err := lab.ParseConfig([]byte(`{"shell_idle_timeout": "later"}`)); err == nil {
		t.Error("a shell_idle_timeout that is not a duration was accepted")
	}
}

// The WinRM settings the lab emulates can be seeded in the config file and switched over POST /faults.
func TestWinRMSettingsSeededAndSwitched(t *testing.T) {
	cfg, err := lab.ParseConfig([]byte(`{"max_shells_per_user": 7, "deny_remote_shell_access": true, "cbt_hardening_level": "Strict"}`))
	if err != nil || cfg.MaxShellsPerUser != 7 || !cfg.DenyRemoteShellAccess || cfg.CbtHardeningLevel != "Strict" {
		t.Fatalf("ParseConfig = %+v, %v", cfg, err)
	}
	for _, bad := range []string{`{"cbt_hardening_level": "Paranoid"}`, `{"max_shells_per_user": -1}`} {
		if _, err := lab.ParseConfig([]byte(bad)); err == nil {
			t.Errorf("ParseConfig(%s) accepted it", bad)
		}
	}
	cfg.ReestablishDelay = reestablishDelay
	l := startLab(t, cfg)
	info := l.Info()
	hc := statusClient(t, info)
	user, password := info.WinRMUsername, info.WinRMPassword
	s := info.Servers[0].Name
	if set := l.Server(s).Faults().Settings(); !set.RemoteShellAccessDenied || !set.StrictChannelBinding {
		t.Fatalf("seeded settings = %+v", set)
	}
	body := `{"allow_remote_shell_access": true, "cbt_hardening_level": "Relaxed", "lose_reply_next": 1, "lose_reply_script": "purge-sas/v1"}`
	if code := call(t, hc, info, http.MethodPost, "/faults?server="+s, body, user, password, nil); code != http.StatusOK {
		t.Fatalf("POST /faults: %d", code)
	}
	set := l.Server(s).Faults().Settings()
	if set.RemoteShellAccessDenied || set.StrictChannelBinding || set.LoseReplyNext != 1 || set.LoseReplyScript != "purge-sas/v1" {
		t.Errorf("settings after the POST = %+v", set)
	}
	if code := call(t, hc, info, http.MethodPost, "/faults", `{"cbt_hardening_level": "Paranoid"}`, user, password, nil); code != http.StatusBadRequest {
		t.Errorf("an unknown CbtHardeningLevel: %d, want 400", code)
	}
}
