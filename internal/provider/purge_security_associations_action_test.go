package provider

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

const purgeAction = "remoteaccess_purge_security_associations"

// labSAs counts the main-mode SAs up in the lab's model, per server name, of the computers keep accepts.
func (l *testLab) labSAs(keep func(computer string) bool) map[string]int {
	counts := map[string]int{}
	for _, da := range l.snapshot().DirectAccess {
		if keep(da.Computer) {
			counts[da.Server] += len(da.MainModeSAs)
		}
	}
	return counts
}

func TestPurgeSecurityAssociations_refusedAtPlan(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	ras1 := l.serverAddress("RAS1")
	for name, set := range map[string]map[string]tftypes.Value{
		"neither":           {},
		"both":              {"identities": strList(`CORP\CLIENT1$`), "all_on_server": str(ras1)},
		"all and a list":    {"all_on_server": str(ras1), "servers": strList(ras1)},
		"wildcard identity": {"identities": strList(`CORP\CLIENT1*`)},
	} {
		if errs := validateAction(t, server, purgeAction, set); len(errs) == 0 {
			t.Errorf("%s: the plan accepted %v", name, set)
		}
	}
}

func TestPurgeSecurityAssociations_exactIdentities(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	ras1, ras2 := l.serverAddress("RAS1"), l.serverAddress("RAS2")
	client10Before := l.labSAs(func(c string) bool { return c == "CLIENT10" })

	progress, errs := invokeAction(t, server, purgeAction, map[string]tftypes.Value{
		"identities": strList(identitiesOf("CLIENT1")...),
	})
	if len(errs) > 0 {
		t.Fatalf("errors: %q", errs)
	}
	var onRAS1 int
	for _, p := range progress {
		if strings.HasPrefix(p, ras1+`: removed main-mode SA `) && strings.Contains(p, `CORP\CLIENT1$`) && strings.HasSuffix(p, "with 2 quick-mode SAs") {
			onRAS1++
		}
	}
	if onRAS1 != 2 || !slices.Contains(progress, ras2+": no matching SA") || len(progress) != 3 {
		t.Errorf("progress %q; want CLIENT1's two SAs removed on %s and nothing on %s", progress, ras1, ras2)
	}
	if n := l.labSAs(func(c string) bool { return c == "CLIENT1" }); len(n) != 0 {
		t.Errorf("CLIENT1 still has SAs in the lab: %v", n)
	}
	if after := l.labSAs(func(c string) bool { return c == "CLIENT10" }); after["RAS1"] != client10Before["RAS1"] || after["RAS1"] == 0 {
		t.Errorf("CLIENT10's SAs went from %v to %v: exact identities must leave it alone", client10Before, after)
	}
}

func TestPurgeSecurityAssociations_everySAOfOneServer(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	ras2 := l.serverAddress("RAS2")
	before := l.labSAs(func(string) bool { return true })

	progress, errs := invokeAction(t, server, purgeAction, map[string]tftypes.Value{"all_on_server": str(ras2)})
	if len(errs) > 0 || len(progress) != before["RAS2"] || before["RAS2"] == 0 {
		t.Errorf("progress %q, errors %q; want one line per SA RAS2 had (%d)", progress, errs, before["RAS2"])
	}
	for _, p := range progress {
		if !strings.HasPrefix(p, ras2+": removed main-mode SA ") {
			t.Errorf("progress %q is not about RAS2", p)
		}
	}
	after := l.labSAs(func(string) bool { return true })
	if after["RAS2"] != 0 || after["RAS1"] != before["RAS1"] {
		t.Errorf("SAs per server went from %v to %v; want RAS2 emptied and RAS1 untouched", before, after)
	}
}
