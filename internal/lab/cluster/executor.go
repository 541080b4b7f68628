package cluster

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
)

// The lab does not import the provider: it recognises the bootstrap and the scripts by their first lines and the
// payload by its separator (internal/remoteaccess/scripts/CONTRACT.md, section 1).
const (
	bootstrapLine    = "# remoteaccess-bootstrap/v1"
	scriptLinePrefix = "# remoteaccess-script: "
	payloadSeparator = "\x00\x00\x00\x00"
)

// Executor returns the lab's "PowerShell host" for one server: it runs the provider's scripts against this
// cluster as that server would.
func (c *Cluster) Executor(serverName string) wsman.Executor {
	return wsman.ExecutorFunc(func(ctx context.Context, req wsman.ExecRequest) wsman.ExecResult {
		if refusal := restrictedRefusal(c.languageMode(serverName)); refusal != "" {
			// WINDOWS.md, Language modes: PowerShell refuses the whole bootstrap before any statement of it runs.
			return wsman.ExecResult{Stderr: clixmlError(refusal), ExitCode: 1}
		}
		stdout, exitCode := c.runBootstrap(ctx, serverName, req.EncodedScript, req.Stdin)
		return wsman.ExecResult{Stdout: stdout, ExitCode: exitCode}
	})
}

// runBootstrap executes one bootstrap invocation on a server: encodedScript is the decoded -EncodedCommand text and stdin is
// SCRIPT_TEXT + four NULs + base64(JSON input). It returns what the script prints and its exit code: 0 with
// {"result":...}, or 1 with {"error":{...}} when the script fails, is unknown to the lab or its payload is malformed.
func (c *Cluster) runBootstrap(ctx context.Context, server, encodedScript string, stdin []byte) (stdout []byte, exitCode int) {
	result, err := c.dispatch(ctx, server, encodedScript, stdin)
	if err != nil {
		var se *scriptError
		if !errors.As(err, &se) {
			se = &scriptError{Category: "ResourceUnavailable", Message: err.Error(), Target: server}
		}
		return document(map[string]any{"error": se}), 1
	}
	return document(map[string]any{"result": result}), 0
}

// dispatch checks the payload and runs the emulation of the script it carries.
func (c *Cluster) dispatch(ctx context.Context, server, encodedScript string, stdin []byte) (any, error) {
	if firstLine(encodedScript) != bootstrapLine {
		return nil, &scriptError{Category: "NotImplemented", Target: "command line",
			Message: "the lab runs only the remoteaccess bootstrap (-EncodedCommand starting with " + bootstrapLine + ")"}
	}
	script, encodedInput, found := bytes.Cut(stdin, []byte(payloadSeparator))
	if !found {
		return nil, invalidArgument("stdin", "stdin has no separator between the script and its input")
	}
	name, ok := strings.CutPrefix(firstLine(string(script)), scriptLinePrefix)
	if !ok {
		return nil, &scriptError{Category: "NotImplemented", Target: "script",
			Message: "the script does not start with a " + strings.TrimSpace(scriptLinePrefix) + " line"}
	}
	op, ok := operations[name]
	long, isLong := longOperations[name]
	if !ok && !isLong {
		return nil, &scriptError{Category: "NotImplemented", Target: name, Message: "the lab does not emulate script " + name}
	}
	input, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(encodedInput)))
	if err != nil {
		return nil, invalidArgument("InputJson", "the input is not base64: %v", err)
	}
	if c.node(server) == nil {
		return nil, &scriptError{Category: "ObjectNotFound", Target: server, Message: "the lab has no Remote Access server " + server}
	}
	if mode := c.languageMode(server); mode != "FullLanguage" {
		// What the bootstrap prints when it finds the server's PowerShell constrained (WINDOWS.md, Constrained
		// Language Mode), before any script runs.
		return nil, &scriptError{Category: "SecurityError", Target: "LanguageMode", Message: "PowerShell on " + server + " runs in " +
			mode + " mode (WDAC or AppLocker), which blocks the .NET calls the provider's scripts make: they need FullLanguage"}
	}
	if isLong {
		return long(ctx, c, c.node(server).name, input)
	}
	if err := c.advance(ctx); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return op(c, call{server: c.node(server).name, now: c.opts.Clock(), input: input})
}

// restrictedRefusal is what PowerShell answers, before running any of it, to a script in a language mode that
// refuses scripts: NoLanguage refuses every script (ScriptsNotAllowed), RestrictedLanguage refuses the bootstrap's
// first assignment. "" for the modes that run it (FullLanguage, ConstrainedLanguage).
func restrictedRefusal(mode string) string {
	switch mode {
	case "NoLanguage":
		return "The syntax is not supported by this runspace. This can occur if the runspace is in no-language mode."
	case "RestrictedLanguage":
		return "Assignment statements are not allowed in restricted language mode or a Data section."
	}
	return ""
}

// clixmlError writes one error line as powershell.exe writes its error stream when it is not a console.
func clixmlError(text string) []byte {
	var escaped strings.Builder
	_ = xml.EscapeText(&escaped, []byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r", "_x000D_"), "\n", "_x000A_")))
	return []byte("#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\">" +
		"<S S=\"Error\">" + escaped.String() + "_x000D__x000A_</S></Objs>")
}

// firstLine returns the first line of a text without its line ending or a byte-order mark.
func firstLine(text string) string {
	line, _, _ := strings.Cut(strings.TrimPrefix(text, "\uFEFF"), "\n")
	return strings.TrimSuffix(line, "\r")
}

// document writes one compressed JSON document as ConvertTo-Json -Compress prints it, with PowerShell's CRLF.
func document(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		data = fmt.Appendf(nil, `{"error":{"category":"InvalidOperation","message":%q,"target":"output"}}`, err.Error())
	}
	return append(data, '\r', '\n')
}
