package winrm

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/unicode"
)

func TestDecodeCLIXML(t *testing.T) {
	// As PowerShell 5.1 writes an uncaught error when its output is redirected (progress record included).
	stderr := "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" +
		"<Obj S=\"progress\" RefId=\"0\"><TN RefId=\"0\"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN>" +
		"<MS><I64 N=\"SourceId\">1</I64><PR N=\"Record\"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI>" +
		"<PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>" +
		"<S S=\"Error\">Disconnect-VpnUser : The user CORP\\j_x00F8_rn is not connected._x000D__x000A_</S>" +
		"<S S=\"Error\">At line:1 char:1_x000D__x000A_</S>" +
		"<S S=\"Error\">+ Disconnect-VpnUser -UserName 'CORP\\j_x00F8_rn'_x000D__x000A_</S>" +
		"<S S=\"Error\">+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~_x000D__x000A_</S>" +
		"<S S=\"Error\">    + CategoryInfo          : ObjectNotFound: (:) [Disconnect-VpnUser], CimException_x000D__x000A_</S>" +
		"<S S=\"Verbose\">not an error</S>" +
		"<S S=\"Error\">emoji _xD83D__xDE00_ &amp; &lt;tag&gt;_x000D__x000A_</S>" +
		"</Objs>"
	want := "Disconnect-VpnUser : The user CORP\\jørn is not connected.\n" +
		"At line:1 char:1\n" +
		"+ Disconnect-VpnUser -UserName 'CORP\\jørn'\n" +
		"+ ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n" +
		"    + CategoryInfo          : ObjectNotFound: (:) [Disconnect-VpnUser], CimException\n" +
		"emoji 😀 & <tag>"
	if got := DecodeCLIXML(stderr); got != want {
		t.Errorf("DecodeCLIXML =\n%s\nwant\n%s", got, want)
	}
	if got := DecodeCLIXML("  plain text error\r\n"); got != "plain text error" {
		t.Errorf("plain stderr = %q", got)
	}
	if got := DecodeCLIXML("#< CLIXML\r\n<Objs><S S=\"Error\">cut off"); !strings.Contains(got, "cut off") {
		t.Errorf("truncated CLIXML lost its text: %q", got)
	}
}

func TestParseScript(t *testing.T) {
	good := "# remoteaccess-script: purge-device/v1\r\nparam([string]$InputJson)\n"
	s, err := ParseScript(good)
	if err != nil || s.Name != "purge-device/v1" || s.Text != good {
		t.Fatalf("ParseScript = %+v, %v", s, err)
	}
	for name, text := range map[string]string{
		"no header":        "param([string]$InputJson)\n",
		"no version":       "# remoteaccess-script: purge-device\n",
		"upper case":       "# remoteaccess-script: Purge-Device/v1\n",
		"trailing text":    "# remoteaccess-script: purge-device/v1 extra\n",
		"non-ASCII":        "# remoteaccess-script: purge-device/v1\n# é\n",
		"NUL in the text":  "# remoteaccess-script: purge-device/v1\n\x00\x00\x00\x00",
		"bootstrap header": "# remoteaccess-bootstrap/v1\n",
	} {
		if _, err := ParseScript(text); err == nil {
			t.Errorf("%s: ParseScript accepted %q", name, text)
		}
	}
}

func TestCommandLineIsTheFixedBootstrap(t *testing.T) {
	const prefix = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "
	if !strings.HasPrefix(commandLine, prefix) {
		t.Fatalf("command line = %q", commandLine)
	}
	if len(commandLine) > 8191 {
		t.Errorf("the command line is %d characters, over cmd.exe's 8,191", len(commandLine))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(commandLine, prefix))
	if err != nil {
		t.Fatal(err)
	}
	text, err := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder().Bytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(text), "# remoteaccess-bootstrap/v1\n") || string(text) != bootstrap {
		t.Errorf("the encoded command is not the bootstrap:\n%s", text)
	}
	for _, r := range bootstrap {
		if r > 0x7e {
			t.Fatalf("the bootstrap has the non-ASCII character %q", r)
		}
	}
}

func TestStdinPayload(t *testing.T) {
	s := Script{Name: "x/v1", Text: "# remoteaccess-script: x/v1\n"}
	got, err := stdinPayload(s, map[string]string{"user_name": `CORP\jørn`})
	if err != nil {
		t.Fatal(err)
	}
	script, encoded, ok := bytes.Cut(got, []byte("\x00\x00\x00\x00"))
	if !ok || string(script) != s.Text {
		t.Fatalf("payload %q does not start with the script and the separator", got)
	}
	doc, err := base64.StdEncoding.DecodeString(string(encoded))
	if err != nil || string(doc) != `{"user_name":"CORP\\jørn"}` {
		t.Errorf("input = %s, %v", doc, err)
	}
	if _, err := stdinPayload(s, func() {}); err == nil {
		t.Error("an input that is not JSON was accepted")
	}
}

func TestParseFault(t *testing.T) {
	body := `<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value>` +
		`<s:Subcode><s:Value>w:InternalError</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="">The filename or extension is too long. </s:Text></s:Reason>` +
		`<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2147942606" Machine="52.12.219.136">` +
		`<f:Message><f:ProviderFault provider="Shell cmd plugin">The filename or extension is too long. </f:ProviderFault></f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>`
	f, ok := parseFault([]byte(body))
	if !ok || f.Code != 2147942606 || f.Subcode != "w:InternalError" || f.Message != "The filename or extension is too long." {
		t.Fatalf("parseFault = %+v", f)
	}
	timeout := &wsmanFault{Code: codeOperationTimeout, Message: "timed out"}
	if !strings.Contains(timeout.Error(), "OperationTimeout") {
		t.Error("the operation-timeout fault must name OperationTimeout, or the library stops polling")
	}
}

func TestClassify(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, tc := range []struct {
		name      string
		parent    context.Context
		err       error
		kind      Kind
		transient bool
	}{
		{"quota", live, &wsmanFault{Code: codeOperationQuota}, KindQuota, true},
		{"shell quota", live, &wsmanFault{Code: codeShellQuota}, KindQuota, true},
		{"invalid shell", live, fmt.Errorf("x: %w", &wsmanFault{Code: codeInvalidShell}), KindShell, true},
		{"other fault", live, &wsmanFault{Code: 2147942606}, KindProtocol, false},
		{"401", live, &httpStatusError{StatusCode: 401}, KindAuth, false},
		{"kerberos", live, fmt.Errorf("%w: no ticket", errKerberos), KindAuth, false},
		{"dial", live, dialErr, KindUnreachable, true},
		{"attempt timeout", live, context.DeadlineExceeded, KindTimeout, true},
		{"caller's deadline", expired, context.DeadlineExceeded, KindTimeout, false},
		{"canceled", live, context.Canceled, KindCanceled, false},
	} {
		e := classify(tc.parent, tc.err)
		if e.Kind != tc.kind || IsTransient(e) != tc.transient {
			t.Errorf("%s: kind %q transient %v, want %q %v", tc.name, e.Kind, IsTransient(e), tc.kind, tc.transient)
		}
	}
	if IsTransient(errors.New("plain")) {
		t.Error("a plain error is transient")
	}
}

func TestBackoffIsCappedWithJitter(t *testing.T) {
	c := &Client{cfg: Config{Retry: RetryPolicy{Attempts: 10, Base: 100 * time.Millisecond, Max: time.Second}}}
	for attempt, upper := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 5: time.Second, 60: time.Second} {
		for range 20 {
			if d := c.backoff(attempt); d < upper/2 || d > upper {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", attempt, d, upper/2, upper)
			}
		}
	}
}

func TestConfigDefaultsAndChecks(t *testing.T) {
	cfg, err := Config{Host: "ras1", Username: "u", Password: "p", HTTPS: true}.withDefaults()
	if err != nil || cfg.Port != 5986 || cfg.Auth != AuthNTLM || cfg.MaxConcurrency != 4 || cfg.Retry != DefaultRetryPolicy {
		t.Fatalf("defaults = %+v, %v", cfg, err)
	}
	for name, bad := range map[string]Config{
		"no host":            {Username: "u", Password: "p"},
		"no password":        {Host: "h", Username: "u"},
		"unknown auth":       {Host: "h", Username: "u", Password: "p", Auth: "digest"},
		"kerberos, no realm": {Host: "h", Username: "u", Password: "p", Auth: AuthKerberos, Kerberos: &KerberosConfig{}},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewClient(Config{Host: "h", Username: "u", Password: "p", HTTPS: true, CACertPEM: []byte("junk")}); err == nil {
		t.Error("a CA certificate that is not PEM was accepted")
	}
	_, err = NewClient(Config{Host: "h", Username: "u", Password: "p", Auth: AuthKerberos,
		Kerberos: &KerberosConfig{Realm: "CORP.EXAMPLE", Krb5ConfPath: t.TempDir() + "/missing.conf"}})
	if err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("a missing krb5.conf was not reported: %v", err)
	}
}
