package directory_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

// The lab's VPN server refuses a user whose msNPAllowDialin is FALSE, while the account stays enabled and the
// user's DirectAccess tunnel (Kerberos, no NPS) comes back; allowed again, the VPN comes back.
func TestLabVPNRefusesAUserDeniedDialIn(t *testing.T) {
	l, err := lab.Start(lab.Config{ReestablishDelay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	info := l.Info()
	c := labclient.Directory(t, info)
	clients := labclient.Clients(t, info)
	has := func(server, prefix string) bool {
		rows, err := l.Cluster().ConnectionsOn(context.Background(), server)
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, prefix) })
	}
	const vpn, da = `Vpn::CORP\bob`, "DirectAccess:client10.corp.example:" // bob: VPN on RAS2, DirectAccess on CLIENT10 via RAS1

	bob, err := c.FindUser(ctx(t), "bob")
	if err != nil {
		t.Fatal(err)
	}
	prior, err := c.SetDialIn(ctx(t), bob, directory.DialInDeny)
	if err != nil || prior != directory.DialInAbsent {
		t.Fatalf("SetDialIn = %q, %v", prior, err)
	}
	// The counts say bob's tunnels were up and went down; they may be back by the time the lab is asked. The VPN
	// goes first, so that it is due no later than the DirectAccess tunnel, the control.
	res, err := remoteaccess.PurgeUser(ctx(t), clients["RAS2"], []string{`CORP\bob`, `corp.example\bob`}, "")
	if err != nil || res.VPNConnectionsDisconnected != 1 {
		t.Fatalf("disconnecting bob's VPN on RAS2: %+v, %v", res, err)
	}
	res, err = remoteaccess.PurgeUser(ctx(t), clients["RAS1"], []string{`CORP\bob`, `corp.example\bob`}, "")
	if err != nil || res.MainModeRemoved != 1 {
		t.Fatalf("purging bob's DirectAccess tunnel on RAS1: %+v, %v", res, err)
	}
	// The VPN was due no later than the DirectAccess tunnel: once that is back, the VPN was decided.
	poll.Until(t, "bob's DirectAccess user tunnel comes back", func() bool { return has("RAS1", da+`CORP\bob`) })
	if has("RAS2", vpn) {
		t.Fatal("bob's VPN came back although his msNPAllowDialin is FALSE")
	}
	if !labclient.Enabled(t, info, "bob") {
		t.Fatal("denying dial-in disabled the account")
	}
	if _, err := c.RestoreDialIn(ctx(t), bob, prior, directory.DialInDeny); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "bob's VPN comes back once dial-in is restored", func() bool { return has("RAS2", vpn) })
}
