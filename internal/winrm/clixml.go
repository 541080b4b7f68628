package winrm

import (
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

const clixmlMarker = "#< CLIXML"

// DecodeCLIXML turns PowerShell's serialized error stream ("#< CLIXML" followed by <Objs> documents) into the
// text a console would have shown: the <S S="Error"> strings, with _xHHHH_ escapes decoded. Progress records
// and other streams are dropped. Text that is not CLIXML is returned trimmed.
func DecodeCLIXML(stderr string) string {
	if !strings.Contains(stderr, clixmlMarker) {
		return strings.TrimSpace(stderr)
	}
	var b strings.Builder
	dec := xml.NewDecoder(strings.NewReader(strings.ReplaceAll(stderr, clixmlMarker, "")))
	inError := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return strings.TrimSpace(strings.ReplaceAll(stderr, clixmlMarker, ""))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			inError = t.Name.Local == "S" && attr(t, "S") == "Error"
		case xml.EndElement:
			inError = false
		case xml.CharData:
			if inError {
				b.Write(t)
			}
		}
	}
	text := unescapeCLIXML(b.String())
	return strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// unescapeCLIXML decodes _xHHHH_ (a UTF-16 code unit, surrogate pairs as two escapes).
func unescapeCLIXML(s string) string {
	var units []uint16
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if u, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				units = append(units, uint16(u))
				i += 7
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		units = utf16.AppendRune(units, r)
		i += size
	}
	return string(utf16.Decode(units))
}
