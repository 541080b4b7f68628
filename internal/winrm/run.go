package winrm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/masterzen/winrm"
)

// result is what one command produced.
type result struct {
	stdout, stderr []byte
	exitCode       int
	clean          bool // the command ended normally and was released: its shell can run the next one
}

// runCommand feeds payload to the command's stdin and collects its output until it is done or ctx ends.
//
// The command was started with context.Background() on purpose: the library's own cancellation calls
// Command.Close from its polling goroutine, and a second Close from here would close a channel twice. Here,
// cancellation switches the operation's requests to a short clean-up context, which aborts the Receive in
// flight, and sends Signal (terminate) through Command.Close exactly once.
func runCommand(ctx context.Context, tr *opTransport, cmd *winrm.Command, payload []byte) (*result, error) {
	var stdout, stderr bytes.Buffer
	var stdinErr error
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); _, _ = io.Copy(&stdout, cmd.Stdout) }()
	go func() { defer wg.Done(); _, _ = io.Copy(&stderr, cmd.Stderr) }()
	go func() { defer wg.Done(); stdinErr = writeStdin(cmd, payload) }()
	finished := make(chan struct{})
	go func() {
		cmd.Wait()
		wg.Wait()
		close(finished)
	}()

	select {
	case <-finished:
	case <-ctx.Done():
		cleanup, cancel := cleanupContext(ctx)
		defer cancel()
		tr.setContext(cleanup)
		_ = cmd.Close()
		select {
		case <-finished:
		case <-cleanup.Done():
		}
		return nil, fmt.Errorf("running the command: %w", ctx.Err())
	}

	if err := cmd.Error(); err != nil {
		return nil, err
	}
	if stdinErr != nil {
		if err := tr.failure("Send"); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("sending stdin: %w", stdinErr)
	}
	// Signal (terminate) releases the finished command on the server, as WinRM clients do; if that fails
	// the output is still complete, but the shell is not trusted again.
	released := cmd.Close() == nil
	return &result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), exitCode: cmd.ExitCode(), clean: released}, nil
}

// writeStdin sends payload in chunks that fit one envelope each, then the end of the stream.
func writeStdin(cmd *winrm.Command, payload []byte) error {
	for len(payload) > 0 {
		n := min(len(payload), stdinChunk)
		if _, err := cmd.Stdin.Write(payload[:n]); err != nil {
			return err
		}
		payload = payload[n:]
	}
	return cmd.Stdin.Close()
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
