package winrm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/masterzen/winrm"
	"github.com/masterzen/winrm/soap"
)

// result is what one command produced.
type result struct {
	stdout, stderr []byte
	exitCode       int
	clean          bool // the command ended normally and was released: its shell can run the next one
}

// A run is Command, the payload in Send requests of which the last carries End="true" (so no Send is spent on
// closing stdin), Receive until the command reports Done, then Signal (terminate): for a Text-based Command Shell
// "a final Signal message MUST also be issued for the command after all the stream data has been received"
// (MS-WSMV 3.1.4.14). On a warm shell and connection, with an input that fits one envelope and a command that ends
// within one long poll, that is 4 HTTP requests. The messages are masterzen/winrm's; the library's own Command
// type is not used because its stdin writer never sets End on a chunk that carries data, and it polls Receive
// while stdin is still being sent, which costs a second connection and, with NTLM, a second handshake.

// startCommand starts the bootstrap in the shell and returns the command id.
func (c *Client) startCommand(tr *opTransport, shellID string) (string, error) {
	response, err := tr.send(winrm.NewExecuteCommandRequest(c.transport.url, shellID, commandLine, nil, c.params))
	if err != nil {
		return "", err
	}
	id, err := winrm.ParseExecuteCommandResponse(response)
	if err != nil {
		return "", fmt.Errorf("reading the command id: %w", err)
	}
	c.commands.Add(1)
	return id, nil
}

// finishCommand feeds payload to the command's stdin, collects its output until it is done, and signals it. When
// ctx ends, the request in flight is aborted and the command is signalled (terminate) with a short clean-up context,
// so that it stops on the server; the caller then deletes the shell.
func (c *Client) finishCommand(ctx context.Context, tr *opTransport, shellID, commandID string, payload []byte) (*result, error) {
	res, err := c.sendAndReceive(ctx, tr, shellID, commandID, payload)
	if err != nil {
		if ctx.Err() != nil {
			cleanup, cancel := cleanupContext(ctx)
			defer cancel()
			tr.setContext(cleanup)
		}
		_ = c.signal(tr, shellID, commandID) // best effort: the caller deletes the shell, which ends the command too
		return nil, err
	}
	// If the signal fails the output is still complete, but the shell is not trusted again.
	res.clean = c.signal(tr, shellID, commandID) == nil
	return res, nil
}

func (c *Client) sendAndReceive(ctx context.Context, tr *opTransport, shellID, commandID string, payload []byte) (*result, error) {
	for {
		n := min(len(payload), stdinChunk)
		last := n == len(payload)
		if _, err := tr.send(winrm.NewSendInputRequest(c.transport.url, shellID, commandID, payload[:n], last, c.params)); err != nil {
			if !commandMayHaveArrived(err) {
				// The server refused the input: the bootstrap runs the script only once stdin has ended.
				return nil, &stdinRefusedError{fmt.Errorf("sending stdin: %w", err)}
			}
			return nil, fmt.Errorf("sending stdin: %w", err)
		}
		payload = payload[n:]
		if last {
			break
		}
	}
	var stdout, stderr bytes.Buffer
	for refused := 1; ; {
		response, err := tr.send(winrm.NewGetOutputRequest(c.transport.url, shellID, commandID, "stdout stderr", c.params))
		var fault *wsmanFault
		if errors.As(err, &fault) && isQuota(fault.Code) && c.cfg.Retry.Attempts > 1 && c.sleep(ctx, c.backoff(refused)) {
			// The server refused this Receive, not the command, which runs on: ask for its output again.
			refused++
			c.retries.Add(1)
			continue
		}
		if errors.As(err, &fault) && fault.Code == codeOperationTimeout {
			if ctx.Err() != nil {
				// The server's OperationTimeout and the caller's deadline ended together: report the deadline.
				return nil, fmt.Errorf("receiving the output: %w", ctx.Err())
			}
			continue // no output within OperationTimeout: poll again
		}
		if err != nil {
			return nil, fmt.Errorf("receiving the output: %w", err)
		}
		done, exitCode, err := winrm.ParseSlurpOutputErrResponse(response, &stdout, &stderr)
		if err != nil {
			return nil, fmt.Errorf("reading the output: %w", err)
		}
		if done {
			return &result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), exitCode: exitCode}, nil
		}
	}
}

// stdinRefusedError is a Send the server answered with a refusal (a fault, or 401). The bootstrap reads all of
// stdin before it runs the script (bootstrap.ps1), so the command ran nothing and the run may be sent again.
type stdinRefusedError struct{ err error }

func (e *stdinRefusedError) Error() string { return e.err.Error() }
func (e *stdinRefusedError) Unwrap() error { return e.err }

func (c *Client) signal(tr *opTransport, shellID, commandID string) error {
	_, err := tr.send(winrm.NewSignalRequest(c.transport.url, shellID, commandID, c.params))
	return err
}

func parseShellID(response string) (string, error) {
	id, err := winrm.ParseOpenShellResponse(response)
	if err != nil {
		return "", fmt.Errorf("reading the new shell's id: %w", err)
	}
	return id, nil
}

func deleteShellRequest(url, shellID string, params *winrm.Parameters) *soap.SoapMessage {
	return winrm.NewDeleteShellRequest(url, shellID, params)
}

// scriptOutput is the one JSON document a script prints.
type scriptOutput struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Category string `json:"category"`
		Message  string `json:"message"`
		Target   string `json:"target"`
	} `json:"error"`
}

// decode interprets a finished command: {"result": ...} with exit code 0 is success, {"error": {...}} is a
// script error, anything else is malformed output, or a script error when PowerShell itself failed.
func (c *Client) decode(s Script, res *result, output any) error {
	stderr := DecodeCLIXML(string(res.stderr))
	fail := func(kind Kind, err error) *Error {
		return &Error{Kind: kind, Server: c.cfg.Host, Script: s.Name, ExitCode: res.exitCode, Stderr: stderr, Err: err}
	}
	out, ok := parseOutput(res.stdout)
	switch {
	case !ok && res.exitCode != 0 && len(bytes.TrimSpace(res.stdout)) == 0:
		return fail(KindScript, nil) // PowerShell failed before the script could answer; stderr says why
	case !ok:
		return fail(KindMalformedOutput, fmt.Errorf("stdout is not one JSON document: %q", truncate(string(res.stdout), 200)))
	case out.Error != nil:
		e := fail(KindScript, nil)
		e.Category, e.Message, e.Target = out.Error.Category, out.Error.Message, out.Error.Target
		return e
	case res.exitCode != 0:
		return fail(KindScript, fmt.Errorf("the script printed a result but exited with code %d", res.exitCode))
	case out.Result == nil:
		return fail(KindMalformedOutput, fmt.Errorf(`stdout has no "result"`))
	case output != nil && bytes.Equal(out.Result, []byte("null")):
		// Decoded, null would leave output zero: a purge that removed nothing, with certainty.
		return fail(KindMalformedOutput, fmt.Errorf(`the "result" is null`))
	}
	if output == nil {
		return nil
	}
	if err := json.Unmarshal(out.Result, output); err != nil {
		return fail(KindMalformedOutput, fmt.Errorf("decoding the result: %w", err))
	}
	return nil
}

// parseOutput reads the JSON document on stdout. Anything a script printed before it (a stray Write-Host)
// is tolerated as long as the last line is the document.
func parseOutput(stdout []byte) (scriptOutput, bool) {
	var out scriptOutput
	text := strings.TrimSpace(string(bytes.TrimPrefix(stdout, []byte("\xef\xbb\xbf"))))
	if text == "" {
		return out, false
	}
	if json.Unmarshal([]byte(text), &out) == nil {
		return out, true
	}
	if i := strings.LastIndexByte(text, '\n'); i >= 0 && json.Unmarshal([]byte(text[i+1:]), &out) == nil {
		return out, true
	}
	return scriptOutput{}, false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
