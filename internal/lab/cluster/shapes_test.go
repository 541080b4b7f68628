package cluster

import (
	"slices"
	"strings"
	"testing"
)

// saCount counts a client's main-mode SAs on a server in the lab's model, not through a script.
func (l *lab) saCount(server, computer string) int {
	n := 0
	for _, da := range l.Snapshot().DirectAccess {
		if da.Server == server && da.Computer == computer {
			n += len(da.MainModeSAs)
		}
	}
	return n
}

// Every rule that matches identities holds whichever shape the server prints them in (WINDOWS.md, Shapes): the
// class page's strings, or the seed article's objects. A script that read only one shape would find nothing on a
// server of the other, and every purge there would end "cannot tell".
func TestPurgeAndLooksInBothSAShapes(t *testing.T) {
	for _, shape := range []string{ShapeObject, ShapeString} {
		t.Run(shape, func(t *testing.T) {
			l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"sa_shapes":{"RAS1":"`+shape+`"},"directaccess":[
				{"computer":"CLIENT1","user":"alice","servers":["RAS1"],"transition_technology":"IPHttps"},
				{"computer":"CLIENT10","user":"bob","servers":["RAS1"],"transition_technology":"IPHttps"},
				{"computer":"CLIENT11","servers":["RAS1"],"transition_technology":"Teredo"}]}`)
			look := succeed[sasVerdict](t, l, "RAS1", "get-ipsec-sas/v1", map[string]any{"identities": device("CLIENT1")["identities"], "device": true})
			if len(look.MainMode) != 2 || look.Indeterminate || look.MainMode[1].RemoteSecondID != `CORP\alice` {
				t.Fatalf("the look at CLIENT1 = %+v (indeterminate %v %q); want its two tunnels by identity", look.MainMode, look.Indeterminate, look.Reason)
			}
			wantMethod := map[string]string{ShapeObject: "ComputerCert", ShapeString: ""}[shape]
			if look.MainMode[0].AuthMethodFirst != wantMethod {
				t.Errorf("auth_method_first = %q, want %q (a string carries no method)", look.MainMode[0].AuthMethodFirst, wantMethod)
			}

			l.dir.disable("CLIENT1$", "bob")
			purged := succeed[verdictResult](t, l, "RAS1", "purge-device/v1", device("CLIENT1"))
			if purged.MainModeRemoved != 2 || purged.Indeterminate {
				t.Errorf("purge-device CLIENT1 = %+v; want both tunnels removed", purged)
			}
			user := succeed[verdictResult](t, l, "RAS1", "purge-user/v1", map[string]any{"identities": []string{`CORP\bob`, `corp.example\bob`}})
			if user.MainModeRemoved != 1 || user.Indeterminate {
				t.Errorf("purge-user bob = %+v; want his intranet tunnel removed", user)
			}
			bySAs := succeed[struct {
				Removed []removedSA `json:"removed"`
			}](t, l, "RAS1", "purge-sas/v1", map[string]any{"identities": []string{`CORP\CLIENT11$`}})
			if len(bySAs.Removed) != 1 || bySAs.Removed[0].RemoteFirstID != `CORP\CLIENT11$` {
				t.Errorf("purge-sas CLIENT11 = %+v; want its tunnel", bySAs.Removed)
			}
			// What the model holds, not what a script says: CLIENT1 and bob's intranet tunnel are gone; CLIENT10's
			// infrastructure tunnel (an enabled computer) and CLIENT11 (enabled, purged) may come back later.
			if n := l.saCount("RAS1", "CLIENT1"); n != 0 {
				t.Errorf("CLIENT1 still has %d SAs on RAS1", n)
			}
			if n := l.saCount("RAS1", "CLIENT10"); n != 1 {
				t.Errorf("CLIENT10 has %d SAs on RAS1, want its infrastructure tunnel only", n)
			}
		})
	}
}

// The class page gives CipherAlgorithm and HashAlgorithm as uint16 codes: the codes it names read as names, other
// codes stay numbers, and names (the other shape) stay as they are.
func TestAlgorithmsReadInBothShapes(t *testing.T) {
	want := map[string][2]string{ShapeObject: {"AES256", "SHA256"}, ShapeString: {"AES-256", "SHA-256"}}
	for shape, names := range want {
		l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"sa_shapes":{"RAS1":"`+shape+`"},"directaccess":[
			{"computer":"CLIENT1","servers":["RAS1"],"transition_technology":"IPHttps"}]}`)
		got := l.sas(t, "RAS1").MainMode
		if len(got) != 1 || got[0].CipherAlgorithm != names[0] || got[0].HashAlgorithm != names[1] {
			t.Errorf("%s: algorithms = %+v, want %q", shape, got, names)
		}
	}
	for _, c := range []struct {
		in   any
		want string
	}{{float64(65003), "AES-256"}, {float64(6), "3DES"}, {float64(7), "7"}, {"65001", "AES-128"}, {"AES256", "AES256"}, {nil, ""}} {
		if got := algorithmName(c.in, cipherNames); got != c.want {
			t.Errorf("cipher %v reads as %q, want %q", c.in, got, c.want)
		}
	}
	// The same code names different algorithms as a cipher and as a hash.
	if algorithmName(float64(65003), hashNames) != "AES-GMAC-128" {
		t.Errorf("hash 65003 reads as %q, want AES-GMAC-128", algorithmName(float64(65003), hashNames))
	}
}

// Unreadable identities fail closed in either shape: an empty string is no more an identity than an empty object.
func TestUnreadableIdentitiesInBothShapes(t *testing.T) {
	for _, shape := range []string{ShapeObject, ShapeString} {
		l := newLabFrom(t, `{`+domain+`,"nodes":["RAS1"],"sa_shapes":{"RAS1":"`+shape+`"},"directaccess":[
			{"computer":"CLIENT4","servers":["RAS1"],"transition_technology":"Teredo","sa_identity":"unreadable"}]}`)
		got := succeed[verdictResult](t, l, "RAS1", "purge-device/v1", device("CLIENT9"))
		if !got.Indeterminate || !strings.Contains(got.IndeterminateReason, "readable remote identity") {
			t.Errorf("%s: purge on a server whose SAs carry no identity = %+v; want indeterminate", shape, got)
		}
	}
}

// Disconnect-VpnUser -UserName documents DOMAIN\USERNAME only; the lab answers ObjectNotFound for the DNS form, as
// Windows may, which the scripts would take for "already gone". The scripts disconnect by tunnel address, so a user
// the statistics print in the DNS form is disconnected all the same, by disconnect-vpn and by purge-user.
func TestDNSFormUserIsDisconnectedByAddress(t *testing.T) {
	seed := `{` + domain + `,"nodes":["RAS1"],"vpn":[{"user":"bob","server":"RAS1","dns_user_name":true},
		{"user":"carol","server":"RAS1","dns_user_name":true}]}`
	l := newLabFrom(t, seed)
	if got := describe(l.connections(t, "RAS1")); !slices.Contains(got, `Vpn::corp.example\bob`) {
		t.Fatalf("connections = %q; want bob printed in the DNS form", got)
	}
	l.dir.disable("bob", "carol")
	one := succeed[struct {
		Disconnected []string      `json:"disconnected"`
		Failures     []itemFailure `json:"failures"`
	}](t, l, "RAS1", "disconnect-vpn/v1", map[string]any{"user_name": `corp.example\bob`})
	if !slices.Equal(one.Disconnected, []string{`corp.example\bob`}) || len(one.Failures) != 0 {
		t.Errorf("disconnect-vpn corp.example\\bob = %+v; want him disconnected", one)
	}
	user := succeed[verdictResult](t, l, "RAS1", "purge-user/v1", map[string]any{"identities": []string{`CORP\carol`, `corp.example\carol`}})
	if user.VPNConnectionsDisconnected != 1 || len(user.Failures) != 0 {
		t.Errorf("purge-user carol = %+v; want her connection disconnected", user)
	}
	// What the model holds: no VPN connection is up.
	if left := l.Snapshot().VPN; len(left) != 0 {
		t.Errorf("after the disconnects the model still holds %+v", left)
	}
	if dnsFormUserName(`CORP\bob`) || !dnsFormUserName(`corp.example\bob`) {
		t.Errorf("dnsFormUserName tells the forms apart wrongly")
	}
}

// Both NLB clusters of a node (internal and Internet) are drained and resumed, and a node named by its FQDN is
// the node itself (the scripts pass -NodeName its short name).
func TestDrainAndResumeEveryNLBCluster(t *testing.T) {
	for _, interfaces := range [][]string{{"Ethernet"}, {"Internet", "Corpnet"}} {
		seed := `{"nodes":["RAS1","RAS2"],"nlb_interfaces":["` + strings.Join(interfaces, `","`) + `"]}`
		l := newLabFrom(t, seed)
		drained := succeed[nodesResult](t, l, "RAS1", "drain-node/v1", map[string]any{"node_name": "ras1.corp.example", "timeout_seconds": 5})
		if len(drained.Nodes) != len(interfaces) {
			t.Fatalf("%v: drain answered %+v, want one node object per interface", interfaces, drained.Nodes)
		}
		states, err := l.NodeStates("RAS1")
		if err != nil {
			t.Fatal(err)
		}
		for _, iface := range interfaces {
			if states[iface] != Stopped {
				t.Errorf("%v: RAS1 on %s is %s after the drain, want Stopped", interfaces, iface, states[iface])
			}
		}
		succeed[nodesResult](t, l, "RAS1", "resume-node/v1", map[string]any{"node_name": "RAS1.corp.example"})
		l.clock.Advance(testConvergence)
		l.sas(t, "RAS1") // any script brings the model up to now
		states, _ = l.NodeStates("RAS1")
		for _, iface := range interfaces {
			if states[iface] != Converged {
				t.Errorf("%v: RAS1 on %s is %s after the resume, want Converged", interfaces, iface, states[iface])
			}
		}
		if e := fail(t, l, "RAS1", "drain-node/v1", map[string]any{"node_name": "ras2.corp.example", "timeout_seconds": 5}); e.Category != "InvalidOperation" {
			t.Errorf("draining RAS2 from RAS1 = %+v, want InvalidOperation", e)
		}
		if !slices.Equal(interfaces, l.opts.Interfaces) {
			t.Errorf("interfaces = %q", l.opts.Interfaces)
		}
	}
}

// An operator's capture becomes a test: a capture of a server in each shape loads as a seed, and the looks, the
// purges and the drain work on it as on a seeded lab.
func TestCapturesInBothShapes(t *testing.T) {
	for _, c := range []struct {
		file            string
		interfaces      int
		cipher, hash    string
		authMethodFirst string
	}{
		{"testdata/capture-object-shape.json", 2, "AES256", "SHA256", "MachineCert"},
		{"testdata/capture-string-shape.json", 1, "AES-256", "SHA-256", ""},
	} {
		t.Run(c.file, func(t *testing.T) {
			l := newLabFromFile(t, c.file)
			if nodes := succeed[nodesResult](t, l, "HOST1", "get-nodes/v1", map[string]any{}).Nodes; len(nodes) != 2*c.interfaces {
				t.Errorf("get-nodes = %+v; want HOST1 and HOST5 on each of %d interfaces", nodes, c.interfaces)
			}
			host2 := map[string]any{"identities": []string{`DOMAIN1\HOST2$`, "host2.domain1.example"}, "computer_name": "HOST2", "disconnect_vpn": true}
			look := succeed[sasVerdict](t, l, "HOST1", "get-ipsec-sas/v1", map[string]any{"identities": host2["identities"], "device": true})
			if len(look.MainMode) != 2 || look.Indeterminate {
				t.Fatalf("the look at HOST2 = %+v (indeterminate %v %q); want its two SAs", look.MainMode, look.Indeterminate, look.Reason)
			}
			if sa := look.MainMode[0]; sa.CipherAlgorithm != c.cipher || sa.HashAlgorithm != c.hash || sa.AuthMethodFirst != c.authMethodFirst {
				t.Errorf("HOST2's first SA = %+v; want cipher %q, hash %q, auth method %q", sa, c.cipher, c.hash, c.authMethodFirst)
			}
			user1 := succeed[sasVerdict](t, l, "HOST1", "get-ipsec-sas/v1", map[string]any{"identities": []string{`DOMAIN1\user1`}})
			if len(user1.MainMode) != 1 || user1.MainMode[0].RemoteSecondID != `DOMAIN1\user1` {
				t.Errorf("the look at user1 = %+v; want the intranet tunnel", user1.MainMode)
			}
			purged := succeed[verdictResult](t, l, "HOST1", "purge-device/v1", host2)
			if purged.MainModeRemoved != 2 || purged.QuickModeRemoved != 4 || purged.Indeterminate {
				t.Errorf("purge-device HOST2 = %+v; want both SAs and their four quick-mode SAs", purged)
			}
			user4 := succeed[verdictResult](t, l, "HOST1", "purge-user/v1", map[string]any{"identities": []string{`DOMAIN1\user4`, `domain1.example\user4`}})
			if user4.VPNConnectionsDisconnected != 1 || len(user4.Failures) != 0 {
				t.Errorf("purge-user user4 (printed in the DNS form) = %+v; want the connection disconnected", user4)
			}
			if left := describe(l.connections(t, "HOST1")); !slices.Equal(left, []string{`DirectAccess:host2.domain1.example:DOMAIN1\user1`}) {
				t.Errorf("connections left = %q; want the DirectAccess row only", left)
			}
			succeed[nodesResult](t, l, "HOST1", "drain-node/v1", map[string]any{"node_name": "host1.domain1.example", "timeout_seconds": 1})
			states, err := l.NodeStates("HOST1")
			if err != nil || len(states) != c.interfaces {
				t.Fatalf("HOST1's node objects = %v, %v", states, err)
			}
			for iface, state := range states {
				if state != Stopped {
					t.Errorf("HOST1 on %s is %s after the drain, want Stopped", iface, state)
				}
			}
		})
	}
}
