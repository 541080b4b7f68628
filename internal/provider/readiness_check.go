package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// readinessTimeout bounds one server's readiness read when a plan asks for it.
const readinessTimeout = planReadTimeout

// readinessLooks holds each server's readiness read, made once per provider process (one Terraform plan or apply)
// and shared by the remoteaccess_servers data source and every plan that checks it.
type readinessLooks struct {
	mu    sync.Mutex
	looks map[string]*readinessLook
}

type readinessLook struct {
	once  sync.Once
	ready remoteaccess.Readiness
	err   error
}

// readiness returns each server's readiness, reading those not read yet in this process, all at once.
func (c *clients) readiness(ctx context.Context, servers []string) map[string]*readinessLook {
	c.looks.mu.Lock()
	if c.looks.looks == nil {
		c.looks.looks = map[string]*readinessLook{}
	}
	out := map[string]*readinessLook{}
	for _, s := range servers {
		if c.looks.looks[s] == nil {
			c.looks.looks[s] = &readinessLook{}
		}
		out[s] = c.looks.looks[s]
	}
	c.looks.mu.Unlock()
	var wg sync.WaitGroup
	for server, look := range out {
		wg.Go(func() { look.once.Do(func() { look.ready, look.err = c.readOne(ctx, server) }) })
	}
	wg.Wait()
	return out
}

// readOne asks one server. The read outlives a cancelled caller's context but not readinessTimeout, since other
// plans share its result.
func (c *clients) readOne(ctx context.Context, server string) (remoteaccess.Readiness, error) {
	client, err := c.server(server)
	if err != nil {
		return remoteaccess.Readiness{}, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readinessTimeout)
	defer cancel()
	r, err := remoteaccess.GetReadiness(ctx, client)
	if mode, ok := languageRefusal(err); ok {
		return remoteaccess.Readiness{LanguageMode: mode}, nil
	}
	return r, err
}

// languageRefusal recognises the bootstrap's refusal to run in a restricted language mode (scripts/CONTRACT.md,
// section 1: SecurityError on LanguageMode): that is an answer about the server, not a failure to read it.
func languageRefusal(err error) (mode string, ok bool) {
	var we *winrm.Error
	if !errors.As(err, &we) || we.Kind != winrm.KindScript || we.Target != "LanguageMode" {
		return "", false
	}
	for _, m := range []string{"NoLanguage", "RestrictedLanguage", "ConstrainedLanguage"} {
		if strings.Contains(we.Message, m) {
			return m, true
		}
	}
	return "a restricted language mode", true
}

// assessOptions compares a server's answer with this provider's settings.
func (c *clients) assessOptions() remoteaccess.AssessOptions {
	return remoteaccess.AssessOptions{
		Concurrency: c.settings.WinRM.MaxConcurrency,
		NTLM:        c.settings.WinRM.Auth == authNTLM,
		Now:         time.Now(),
	}
}

// refuseUnready fails a plan on servers whose readiness verdict is not_ready, naming each with its failed
// assumptions and their fixes, and warns when the provider logs on with NTLM to a server whose build deprecates it.
// A server whose readiness could not be read adds nothing: the operation itself reports why it cannot reach it.
// Resources call it from ModifyPlan with the servers the change runs on (at: the attribute the error points to).
func (c *clients) refuseUnready(ctx context.Context, servers []string, at path.Path, diags *diag.Diagnostics) {
	if c == nil || len(servers) == 0 {
		return
	}
	looks := c.readiness(ctx, servers)
	opts := c.assessOptions()
	for _, server := range slices.Sorted(slices.Values(servers)) {
		look := looks[server]
		if look.err != nil {
			continue
		}
		verdict, findings := look.ready.Assess(opts)
		if verdict == remoteaccess.VerdictNotReady {
			diags.AddAttributeError(at, fmt.Sprintf("%s is not ready for the provider", server), findingsText(findings, remoteaccess.SeverityError)+
				"\n\nThe remoteaccess_servers data source shows every finding of every server.")
		}
		if opts.NTLM && look.ready.Windows != nil && remoteaccess.NTLMDeprecated(look.ready.Windows.Build) {
			diags.AddAttributeWarning(at, "NTLM is deprecated on "+server, remoteaccess.NTLMWarning(look.ready.Windows.Build))
		}
	}
}

// findingsText lists the findings of a severity ("" for all) with their fixes.
func findingsText(findings []remoteaccess.Finding, severity string) string {
	var b strings.Builder
	for _, f := range findings {
		if severity != "" && f.Severity != severity {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "- %s: %s.\n  Fix: %s", f.Assumption, f.Detail, f.Fix)
	}
	return b.String()
}
