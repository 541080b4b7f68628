package wsman

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// DecodeEncodedCommand returns the script text of a `powershell.exe ... -EncodedCommand <base64>` command line
// (base64 of UTF-16LE), or "" when the command line has no encoded command. PowerShell accepts any
// unambiguous prefix of the parameter name (-e, -ec, -enc, -EncodedCommand, ...), and so does this.
func DecodeEncodedCommand(commandLine string) (string, error) {
	args := strings.Fields(commandLine)
	for i, arg := range args {
		if !isEncodedCommandParameter(arg) {
			continue
		}
		if i+1 >= len(args) {
			return "", fmt.Errorf("%s has no value", arg)
		}
		raw, err := base64.StdEncoding.DecodeString(args[i+1])
		if err != nil {
			return "", fmt.Errorf("decoding %s: %w", arg, err)
		}
		if len(raw)%2 != 0 {
			return "", fmt.Errorf("decoding %s: odd number of UTF-16 bytes", arg)
		}
		units := make([]uint16, len(raw)/2)
		for j := range units {
			units[j] = binary.LittleEndian.Uint16(raw[2*j:])
		}
		return strings.TrimPrefix(string(utf16.Decode(units)), "\ufeff"), nil
	}
	return "", nil
}

func isEncodedCommandParameter(arg string) bool {
	if len(arg) < 2 || (arg[0] != '-' && arg[0] != '/') {
		return false
	}
	name := strings.ToLower(arg[1:])
	const full = "encodedcommand"
	return name == "ec" || name != "" && len(name) <= len(full) && full[:len(name)] == name
}

// readsStdin says whether a decoded script consumes its standard input ($input or [Console]::In). WinRM starts
// such a command at once on Windows too, but the script only gets going when the input ends; the lab starts the
// executor when the last Send (End="true") arrives, so that the executor sees the whole input.
func readsStdin(script string) bool {
	s := strings.ToLower(script)
	return strings.Contains(s, "$input") || strings.Contains(s, "[console]::in")
}
