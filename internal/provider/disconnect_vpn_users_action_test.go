package provider

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const disconnectAction = "remoteaccess_disconnect_vpn_users"

// vpnUp reports whether the lab's model has a VPN connection of user (as the servers print it) up.
func (l *testLab) vpnUp(user string) bool {
	return slices.ContainsFunc(l.snapshot().VPN, func(v clusterVPN) bool { return v.UserName == user })
}

func TestDisconnectVPNUsers_refusedAtPlan(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	for name, set := range map[string]map[string]tftypes.Value{
		"neither":  {},
		"both":     {"user_names": strList(`CORP\bob`), "host_ip_addresses": strList("10.10.0.11")},
		"wildcard": {"user_names": strList(`CORP\bo*`)},
		"address":  {"host_ip_addresses": strList("10.10.0.300")},
		"empty":    {"user_names": strList()},
	} {
		if errs := validateAction(t, server, disconnectAction, set); len(errs) == 0 {
			t.Errorf("%s: the plan accepted %v", name, set)
		}
	}
	if !l.vpnUp(`CORP\bob`) || !l.vpnUp(`CORP\carol`) {
		t.Error("a refused plan disconnected somebody")
	}
}

func TestDisconnectVPNUsers_byUserInEveryForm(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	ras1, ras2 := l.serverAddress("RAS1"), l.serverAddress("RAS2")

	// "bob" alone is not how the servers print him: the provider's domain gives his forms.
	progress, errs := invokeAction(t, server, disconnectAction, map[string]tftypes.Value{"user_names": strList("bob")})
	if len(errs) > 0 {
		t.Fatalf("errors: %q", errs)
	}
	if len(progress) != 2 || progress[0] != ras1+": no matching VPN connection" ||
		!strings.HasPrefix(progress[1], ras2+`: disconnected CORP\bob (tunnel address 10.10.`) {
		t.Errorf("progress %q; want one line per server, RAS2 naming bob and his tunnel address", progress)
	}
	if l.vpnUp(`CORP\bob`) {
		t.Error("bob's VPN connection is still up in the lab")
	}
	if !l.vpnUp(`CORP\carol`) {
		t.Error("carol was disconnected too")
	}
	// DirectAccess is not VPN: bob's intranet tunnel on CLIENT10 stays.
	if !slices.ContainsFunc(l.snapshot().DirectAccess, func(da clusterDA) bool { return slices.Contains(da.Users, `CORP\bob`) }) {
		t.Error("bob's DirectAccess session was dropped by a VPN disconnect")
	}
}

func TestDisconnectVPNUsers_byAddressOnOneServer(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	ras2 := l.serverAddress("RAS2")
	var device clusterVPN
	for _, v := range l.snapshot().VPN {
		if v.HostName == "client2.corp.example" {
			device = v
		}
	}
	progress, errs := invokeAction(t, server, disconnectAction, map[string]tftypes.Value{
		"host_ip_addresses": strList(device.Address), "servers": strList(ras2),
	})
	want := ras2 + ": disconnected client2.corp.example (tunnel address " + device.Address + ")"
	if len(errs) > 0 || !slices.Equal(progress, []string{want}) {
		t.Errorf("progress %q, errors %q; want only %q", progress, errs, want)
	}
	if slices.ContainsFunc(l.snapshot().VPN, func(v clusterVPN) bool { return v.Address == device.Address }) {
		t.Error("CLIENT2's device tunnel is still up")
	}
}

func TestDisconnectVPNUsers_oneServerFailingHidesNothing(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	ras1, ras2 := l.serverAddress("RAS1"), l.serverAddress("RAS2")
	l.Server("RAS1").Faults().SetAuthFailure(true)

	progress, errs := invokeAction(t, server, disconnectAction, map[string]tftypes.Value{"user_names": strList(`CORP\carol`)})
	if len(progress) != 1 || !strings.HasPrefix(progress[0], ras2+`: disconnected CORP\carol`) {
		t.Errorf("progress %q; want RAS2's disconnect of carol", progress)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], ras1+" failed") || !strings.Contains(errs[0], ras2+`: disconnected CORP\carol`) {
		t.Errorf("errors %q; want one naming %s and what %s did", errs, ras1, ras2)
	}
	if l.vpnUp(`CORP\carol`) {
		t.Error("carol's VPN connection is still up")
	}
}

func TestDisconnectVPNUsers_oneConnectionFailingHidesNothing(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	ras2 := l.serverAddress("RAS2")
	var bobAddress string
	for _, v := range l.snapshot().VPN {
		if v.UserName == `CORP\bob` {
			bobAddress = v.Address
		}
	}
	l.Cluster().FailDisconnect(bobAddress)

	progress, errs := invokeAction(t, server, disconnectAction, map[string]tftypes.Value{"user_names": strList(`CORP\bob`, `CORP\carol`)})
	if !slices.ContainsFunc(progress, func(p string) bool { return strings.HasPrefix(p, ras2+`: disconnected CORP\carol`) }) {
		t.Errorf("progress %q; want carol disconnected on %s", progress, ras2)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "could not disconnect "+bobAddress) || !strings.Contains(errs[0], `disconnected CORP\carol`) {
		t.Errorf("errors %q; want one naming bob's address and what was done", errs)
	}
	if !l.vpnUp(`CORP\bob`) || l.vpnUp(`CORP\carol`) {
		t.Error("want bob still connected (his disconnect failed) and carol gone")
	}
}
