package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// OutcomeUnknownError is a write on one server whose reply was lost once its command may have run
// (winrm.ErrOutcomeUnknown, which errors.Is still finds through it), with what a read found there afterwards. The
// write is never sent again: the read tells the caller what holds now.
type OutcomeUnknownError struct {
	Err     error  // the write's failure
	Found   string // what the read found, in words; "" when the read failed too
	LookErr error  // the read's failure
}

func (e *OutcomeUnknownError) Error() string {
	if e.LookErr != nil {
		return fmt.Sprintf("%v; looking afterwards failed too: %v", e.Err, e.LookErr)
	}
	return fmt.Sprintf("%v; looked afterwards: %s", e.Err, e.Found)
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// lookTimeout bounds the read after a lost reply when the operation's own context has ended (the lost reply may be
// the deadline itself).
const lookTimeout = 30 * time.Second

// lookContext is ctx while it lasts, else a short context of its own.
func lookContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx.Err() == nil {
		return ctx, func() {}
	}
	return context.WithTimeout(context.WithoutCancel(ctx), lookTimeout)
}

// lookAfterDisconnect lists the server's connections after a disconnect whose outcome is unknown and says which of
// the selected ones are still connected.
func lookAfterDisconnect(ctx context.Context, r Runner, sel VPNSelection, err error) error {
	ctx, cancel := lookContext(ctx)
	defer cancel()
	conns, lookErr := getConnections(ctx, r, ConnectionFilter{})
	if lookErr != nil {
		return &OutcomeUnknownError{Err: err, LookErr: lookErr}
	}
	var still []string
	for _, c := range conns {
		if strings.EqualFold(c.ConnectionType, "Vpn") && sel.selects(c) {
			still = append(still, fmt.Sprintf("%s (tunnel address %s)", strings.Join(c.UserNames, ", "), c.ClientIPAddress))
		}
	}
	if len(still) == 0 {
		return &OutcomeUnknownError{Err: err, Found: "none of the selected VPN connections is connected any more"}
	}
	return &OutcomeUnknownError{Err: err, Found: fmt.Sprintf("%d of the selected VPN connections are still connected: %s; "+
		"run the action again to disconnect them", len(still), strings.Join(still, "; "))}
}

// lookAfterPurge lists the server's SAs of the selection after a purge whose outcome is unknown and says which
// are still there.
func lookAfterPurge(ctx context.Context, r Runner, sel SASelection, err error) error {
	ctx, cancel := lookContext(ctx)
	defer cancel()
	sas, lookErr := run[IPsecSAs](ctx, r, scriptGetIPsecSAs, identitiesInput{Identities: sel.Identities})
	if lookErr != nil {
		return &OutcomeUnknownError{Err: err, LookErr: lookErr}
	}
	if len(sas.MainMode) == 0 {
		return &OutcomeUnknownError{Err: err, Found: "none of the selected main-mode SAs is there any more"}
	}
	names := make([]string, len(sas.MainMode))
	for i, sa := range sas.MainMode {
		names[i] = fmt.Sprintf("%s (%s)", sa.Name, sa.RemoteFirstID)
	}
	return &OutcomeUnknownError{Err: err, Found: fmt.Sprintf("%d of the selected main-mode SAs are still there: %s; "+
		"run the action again to remove them", len(names), strings.Join(names, "; "))}
}

// selects reports a connection the selection names, by tunnel address or user name (exact, case-insensitive).
func (s VPNSelection) selects(c Connection) bool {
	for _, a := range c.ClientIPAddresses {
		if slices.Contains(s.HostIPAddresses, a) {
			return true
		}
	}
	if slices.Contains(s.HostIPAddresses, c.ClientIPAddress) && c.ClientIPAddress != "" {
		return true
	}
	return slices.ContainsFunc(c.UserNames, func(u string) bool {
		return slices.ContainsFunc(s.UserNames, func(n string) bool { return strings.EqualFold(u, n) })
	})
}

// lookAtNode reads a node's NLB state after a drain or resume whose outcome is unknown. took says whether the
// state shows that the command took effect; when it did not, or the read failed, the error says what was found.
func (c *Cluster) lookAtNode(ctx context.Context, server, node string, err error, took func(NodeStatus) bool, next string) (NodeStatus, error) {
	lookCtx, cancel := lookContext(ctx)
	defer cancel()
	status, lookErr := c.LocalStatus(lookCtx, server)
	if lookErr != nil {
		return status, &OutcomeUnknownError{Err: err, LookErr: lookErr}
	}
	if took(status) {
		return status, nil
	}
	return status, &OutcomeUnknownError{Err: err, Found: fmt.Sprintf("%s is %s: %s", node, status.State(), next)}
}

// isOutcomeUnknown reports a write whose reply was lost once it may have run.
func isOutcomeUnknown(err error) bool { return errors.Is(err, winrm.ErrOutcomeUnknown) }
