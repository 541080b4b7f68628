package remoteaccess_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

func TestLabDisconnectVPNUsersExactly(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)

	// "CORP\bo" is a prefix of bob and "bob" alone is not a form the servers print: neither disconnects anybody.
	got, err := l.cluster.DisconnectVPNUsers(ctx, remoteaccess.VPNSelection{UserNames: []string{`CORP\bo`, "bob"}})
	if err != nil || len(got["RAS1"].Disconnected)+len(got["RAS2"].Disconnected) != 0 {
		t.Fatalf("DisconnectVPNUsers of near misses = %+v, %v; want nothing disconnected", got, err)
	}

	got, err = l.cluster.DisconnectVPNUsers(ctx, remoteaccess.VPNSelection{UserNames: []string{`corp\BOB`, `CORP\carol`}})
	if err != nil {
		t.Fatal(err)
	}
	var users []string
	for _, d := range got["RAS2"].Disconnected {
		if d.Address == "" {
			t.Errorf("%+v has no tunnel address", d)
		}
		users = append(users, d.UserNames...)
	}
	slices.Sort(users)
	if !slices.Equal(users, []string{`CORP\bob`, `CORP\carol`}) || len(got["RAS1"].Disconnected) != 0 || len(got["RAS2"].Failures) != 0 {
		t.Errorf("disconnected %+v; want bob's and carol's VPN connections on RAS2 only", got)
	}
	// DirectAccess is not VPN: carol's DirectAccess sessions stay.
	sas, err := l.cluster.GetIPsecSAs(ctx, []string{`CORP\carol`})
	if err != nil || len(sas["RAS1"].MainMode) != 1 || len(sas["RAS2"].MainMode) != 1 {
		t.Errorf("carol's DirectAccess SAs after a VPN disconnect = %+v, %v; want one per server", sas, err)
	}

	// By tunnel address: the device tunnel of CLIENT2.
	conns, err := remoteaccess.GetConnections(ctx, l.clients["RAS2"], remoteaccess.ConnectionFilter{HostName: "client2.corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	var address string
	for _, c := range conns {
		if c.ConnectionType == "Vpn" {
			address = c.ClientIPAddress
		}
	}
	got, err = l.cluster.DisconnectVPNUsers(ctx, remoteaccess.VPNSelection{HostIPAddresses: []string{address}})
	if d := got["RAS2"].Disconnected; err != nil || len(d) != 1 || d[0].Address != address || d[0].HostName != "client2.corp.example" {
		t.Errorf("DisconnectVPNUsers(%s) = %+v, %v; want CLIENT2's device tunnel", address, got, err)
	}
}

func TestLabDisconnectVPNUsersGoesOnAfterAFailure(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	conns, err := remoteaccess.GetConnections(ctx, l.clients["RAS2"], remoteaccess.ConnectionFilter{UserName: `CORP\bob`})
	if err != nil || len(conns) == 0 {
		t.Fatalf("bob's connections: %+v, %v", conns, err)
	}
	var bobAddress string
	for _, c := range conns {
		if c.ConnectionType == "Vpn" {
			bobAddress = c.ClientIPAddress
		}
	}
	l.emulated.FailDisconnect(bobAddress)

	got, err := l.cluster.DisconnectVPNUsers(ctx, remoteaccess.VPNSelection{UserNames: []string{`CORP\bob`, `CORP\carol`}})
	if err != nil {
		t.Fatal(err)
	}
	res := got["RAS2"]
	if len(res.Disconnected) != 1 || res.Disconnected[0].UserNames[0] != `CORP\carol` {
		t.Errorf("disconnected %+v; want carol, after bob's failure", res.Disconnected)
	}
	if len(res.Failures) != 1 || res.Failures[0].Target != bobAddress {
		t.Errorf("failures %+v; want bob's address %s", res.Failures, bobAddress)
	}
}

func TestLabDisconnectVPNUsersReportsWhatOthersDid(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	l.servers["RAS1"].Faults().SetAuthFailure(true)

	got, err := l.cluster.DisconnectVPNUsers(ctx, remoteaccess.VPNSelection{UserNames: []string{`CORP\bob`}})
	if failed := remoteaccess.FailedServers(err); !slices.Equal(failed, []string{"RAS1"}) {
		t.Errorf("failed servers = %q (%v), want RAS1", failed, err)
	}
	if d := got["RAS2"].Disconnected; len(d) != 1 || d[0].UserNames[0] != `CORP\bob` {
		t.Errorf("RAS2's disconnect of bob = %+v; one failing server must not hide it", got)
	}
}

func TestLabPurgeSAs(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)

	got, err := l.cluster.PurgeSAs(ctx, remoteaccess.SASelection{Identities: []string{`CORP\CLIENT1$`}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got["RAS1"].Removed) != 2 || len(got["RAS2"].Removed) != 0 || got["RAS1"].Indeterminate {
		t.Fatalf("purged %+v; want CLIENT1's two main-mode SAs on RAS1", got)
	}
	for _, sa := range got["RAS1"].Removed {
		if sa.RemoteFirstID != `CORP\CLIENT1$` || sa.QuickModeRemoved != 2 || sa.Name == "" {
			t.Errorf("removed %+v", sa)
		}
	}
	client10, err := l.cluster.GetIPsecSAs(ctx, []string{`CORP\CLIENT10$`})
	if err != nil || len(client10["RAS1"].MainMode) != 2 {
		t.Errorf("CLIENT10 after purging CLIENT1 = %+v, %v; exact matching must leave it alone", client10, err)
	}

	// Every SA of one server: the cluster of that server alone.
	ras2, err := remoteaccess.NewCluster(map[string]remoteaccess.Runner{"RAS2": l.clients["RAS2"]})
	if err != nil {
		t.Fatal(err)
	}
	before, err := l.cluster.GetIPsecSAs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err = ras2.PurgeSAs(ctx, remoteaccess.SASelection{All: true})
	if err != nil || len(got["RAS2"].Removed) != len(before["RAS2"].MainMode) || len(got["RAS2"].Removed) == 0 {
		t.Fatalf("purged every SA of RAS2: %+v, %v; RAS2 had %d", got, err, len(before["RAS2"].MainMode))
	}
	after, err := l.cluster.GetIPsecSAs(ctx, nil)
	if err != nil || len(after["RAS2"].MainMode) != 0 || len(after["RAS1"].MainMode) != len(before["RAS1"].MainMode) {
		t.Errorf("after purging RAS2: RAS1 %d SAs (had %d), RAS2 %d; %v", len(after["RAS1"].MainMode), len(before["RAS1"].MainMode), len(after["RAS2"].MainMode), err)
	}
	if _, err := ras2.PurgeSAs(ctx, remoteaccess.SASelection{}); !errors.Is(err, remoteaccess.ErrInvalidArgument) {
		t.Errorf("an empty selection: %v", err)
	}
}

// SAs that expire between the listing and the removal are neither removed nor a failure.
func TestLabPurgeSAsThatExpireMeanwhile(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	l.emulated.ExpireBeforeRemoval("RAS1")
	got, err := l.cluster.PurgeSAs(ctx, remoteaccess.SASelection{Identities: []string{`CORP\CLIENT1$`}})
	if err != nil || len(got["RAS1"].Removed) != 0 {
		t.Errorf("PurgeSAs of expiring SAs = %+v, %v; want nothing removed and no error", got, err)
	}
}
