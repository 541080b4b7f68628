package winrm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// No input reaches script text: whatever values a script is given, the command line is the fixed bootstrap, stdin
// starts with the script's own bytes and the separator, and the rest decodes to exactly the values given.
func FuzzStdinPayload(f *testing.F) {
	s, err := ParseScript("# remoteaccess-script: fuzz/v1\n$ErrorActionPreference = 'Stop'\n")
	if err != nil {
		f.Fatal(err)
	}
	wantLine := commandLine
	f.Fuzz(func(t *testing.T, name string, identity string, n int) {
		in := map[string]any{"user_name": name, "identities": []any{identity, name}, "n": float64(n)}
		payload, err := stdinPayload(s, in)
		if err != nil {
			t.Fatalf("stdinPayload: %v", err)
		}
		if commandLine != wantLine || commandLine != "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand "+encodeCommand(bootstrap) {
			t.Fatalf("the command line changed: %q", commandLine)
		}
		script, encoded, ok := bytes.Cut(payload, []byte(payloadSeparator))
		if !ok || string(script) != s.Text {
			t.Fatalf("stdin does not start with the script and the separator: %q", payload)
		}
		doc, err := base64.StdEncoding.DecodeString(string(encoded))
		if err != nil {
			t.Fatalf("the input is not one base64 text: %v", err)
		}
		var got map[string]any
		if err := json.Unmarshal(doc, &got); err != nil {
			t.Fatalf("the input is not JSON: %v", err)
		}
		// encoding/json sends each byte that is not UTF-8 as U+FFFD (callers refuse such names before they get here).
		want := map[string]any{"user_name": valid(name), "identities": []any{valid(identity), valid(name)}, "n": float64(n)}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("the script receives %v, want %v", got, want)
		}
	})
}

func valid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Any error stream decodes without a panic, and error text PowerShell serialized comes back as it was written.
func FuzzDecodeCLIXML(f *testing.F) {
	f.Fuzz(func(t *testing.T, stderr string, text string) {
		_ = DecodeCLIXML(stderr)
		if !utf8.ValidString(text) {
			return
		}
		doc := "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">" +
			encodeCLIXML(text) + "</S><S S=\"Verbose\">" + encodeCLIXML(stderr) + "</S></Objs>"
		want := strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
		if got := DecodeCLIXML(doc); got != want {
			t.Fatalf("DecodeCLIXML(%q) = %q, want %q", doc, got, want)
		}
	})
}

// encodeCLIXML escapes text as PowerShell's serializer does: XML escapes, and _xHHHH_ for every UTF-16 code unit
// XML cannot carry (control characters, U+FFFE, U+FFFF) and for the "_" that starts an escape.
func encodeCLIXML(text string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(text, "\ufffd") {
		if r < 0x20 || r == '_' || r == 0xFFFE || r == 0xFFFF {
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&b, "_x%04X_", u)
			}
			continue
		}
		b.WriteString(esc(string(r)))
	}
	return b.String()
}

func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// Whatever a command prints and however it exits, decoding it either succeeds only for one {"result": ...}
// document with exit code 0, or fails with an *Error of a script kind that names the server and the script.
func FuzzDecodeScriptOutput(f *testing.F) {
	c := &Client{cfg: Config{Host: "ras1"}}
	s := Script{Name: "fuzz/v1"}
	f.Fuzz(func(t *testing.T, stdout, stderr []byte, exitCode int) {
		var out map[string]any
		err := c.decode(s, &result{stdout: stdout, stderr: stderr, exitCode: exitCode}, &out)
		if err == nil {
			doc, ok := parseOutput(stdout)
			if exitCode != 0 || !ok || doc.Error != nil || doc.Result == nil {
				t.Fatalf("decode accepted stdout %q with exit code %d", stdout, exitCode)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) || (e.Kind != KindScript && e.Kind != KindMalformedOutput) || e.Server != "ras1" || e.Script != s.Name {
			t.Fatalf("decode error %v (%T) is not a script error of ras1 fuzz/v1", err, err)
		}
		_ = err.Error()
	})
}
