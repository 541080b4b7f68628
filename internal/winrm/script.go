package winrm

import (
	_ "embed" // the bootstrap script
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf16"
)

// bootstrap is the fixed PowerShell text of every command line; see internal/remoteaccess/scripts/CONTRACT.md, section 1.
//
//go:embed bootstrap.ps1
var bootstrap string

// payloadSeparator splits the script from its base64 JSON input on stdin.
const payloadSeparator = "\x00\x00\x00\x00"

// commandLine is the one command the client ever runs. cmd.exe limits it to 8,191 characters, which is why
// scripts and data travel on stdin.
var commandLine = "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand " + encodeCommand(bootstrap)

// encodeCommand is PowerShell's -EncodedCommand encoding: base64 of UTF-16LE.
func encodeCommand(script string) string {
	units := utf16.Encode([]rune(script))
	raw := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(raw[2*i:], u)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// Script is a PowerShell script the client can run. Its first line names it: "# remoteaccess-script: <name>/v<N>".
type Script struct {
	Name string // the identifier from the first line, e.g. purge-device/v1
	Text string
	// ReadOnly declares a script that only reads: running it twice is harmless, so a run whose reply was lost is
	// sent again. Every other script is a write, never sent again once its command may have reached the server
	// (ErrOutcomeUnknown). The zero value is the safe one. The caller declares it (see
	// internal/remoteaccess/scripts/CONTRACT.md); it is never guessed from the name.
	ReadOnly bool
}

// AsRead returns s declared read-only (see Script.ReadOnly).
func (s Script) AsRead() Script {
	s.ReadOnly = true
	return s
}

var scriptHeader = regexp.MustCompile(`^# remoteaccess-script: ([a-z0-9]+(?:-[a-z0-9]+)*/v[0-9]+)$`)

// ParseScript checks the identifier line and that the text is plain ASCII (scripts must survive any code page).
func ParseScript(text string) (Script, error) {
	first, _, _ := strings.Cut(text, "\n")
	m := scriptHeader.FindStringSubmatch(strings.TrimSuffix(first, "\r"))
	if m == nil {
		return Script{}, fmt.Errorf("winrm: script does not start with %q", "# remoteaccess-script: <name>/v<N>")
	}
	for i, r := range text {
		if r > 0x7e || r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return Script{}, fmt.Errorf("winrm: script %s has a non-ASCII or control character at byte %d", m[1], i)
		}
	}
	return Script{Name: m[1], Text: text}, nil
}

// stdinPayload is what the bootstrap reads: SCRIPT + 4 NULs + BASE64(JSON(input)).
func stdinPayload(s Script, input any) ([]byte, error) {
	if input == nil {
		input = struct{}{}
	}
	doc, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("winrm: encoding the input of %s: %w", s.Name, err)
	}
	var b strings.Builder
	b.Grow(len(s.Text) + len(payloadSeparator) + base64.StdEncoding.EncodedLen(len(doc)))
	b.WriteString(s.Text)
	b.WriteString(payloadSeparator)
	b.WriteString(base64.StdEncoding.EncodeToString(doc))
	return []byte(b.String()), nil
}
