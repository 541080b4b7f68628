package provider

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/samba"
)

// hostileBlock is an account whose name Active Directory accepts but naive code mangles (quotes, "$", backticks,
// non-ASCII letters, the longest names), and how a configuration names it.
type hostileBlock struct {
	resource   string // resource type
	sam        string // sAMAccountName
	configName string // computer_name or user_name as the configuration writes it
	enabled    bool   // enabled before the block
}

// accountSnapshot is what a block may change on an account, as Samba's own ldbsearch prints it.
type accountSnapshot struct {
	SAM, UAC, Info, Description string
}

// snapshotAccounts reads userAccountControl, info and description of every account in the domain (users, computers,
// domain controllers, krbtgt) with ldbsearch on Samba's database: no provider code, no LDAP client.
func snapshotAccounts(dc *samba.Instance) map[string]accountSnapshot {
	out := map[string]accountSnapshot{}
	for dn, attrs := range dc.LDBSearchAll("(objectClass=user)", "sAMAccountName", "userAccountControl", "info", "description") {
		one := func(name string) string { return strings.Join(attrs[name], "\n") }
		out[strings.ToLower(dn)] = accountSnapshot{SAM: one("sAMAccountName"), UAC: one("userAccountControl"), Info: one("info"),
			Description: one("description")}
	}
	return out
}

// compareSnapshots says how now differs from before; blocked are the sAMAccountNames that must be disabled and carry
// a block record now, while every other account must be exactly as before.
func compareSnapshots(before, now map[string]accountSnapshot, blocked []string) error {
	var problems []string
	if len(before) != len(now) {
		problems = append(problems, fmt.Sprintf("%d accounts before, %d now", len(before), len(now)))
	}
	for _, dn := range slices.Sorted(maps.Keys(before)) {
		was, is := before[dn], now[dn]
		if !slices.Contains(blocked, was.SAM) {
			if was != is {
				problems = append(problems, fmt.Sprintf("%s changed: %+v -> %+v", dn, was, is))
			}
			continue
		}
		uac, err := strconv.ParseInt(is.UAC, 10, 64)
		switch {
		case err != nil || uac&2 == 0:
			problems = append(problems, fmt.Sprintf("%s (%s) is not disabled: userAccountControl %q", dn, was.SAM, is.UAC))
		case !strings.Contains(is.Info, "-----BEGIN remoteaccess-block/v2-----"):
			problems = append(problems, fmt.Sprintf("%s (%s) carries no block record: info %q", dn, was.SAM, is.Info))
		case strconv.FormatInt(uac&^2, 10) != strconv.FormatInt(mustInt(was.UAC)&^2, 10):
			problems = append(problems, fmt.Sprintf("%s (%s): flags other than ACCOUNTDISABLE changed: %s -> %s", dn, was.SAM, was.UAC, is.UAC))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("directory differs from what the blocks should leave:\n%s", strings.Join(problems, "\n"))
	}
	return nil
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Names that Active Directory accepts but that break code splicing them into PowerShell or LDAP filter text are
// blocked and unblocked with the real CLI against Samba AD: exactly those accounts are disabled and carry the block
// record, every other account of the domain keeps its userAccountControl, info and description, and destroying the
// blocks gives every account back exactly what it had (one of them was disabled before and stays so). A padded
// name, which Samba would match to the account without the spaces, is refused at plan time.
func TestAccBlock_hostileNamesOnSamba(t *testing.T) {
	l, dc := startSambaLab(t)
	longUPN := strings.Repeat("l", 200) + ".o'brien-`$x@" + dc.DNSRoot
	blocks := []hostileBlock{
		{"remoteaccess_blocked_user", "o'brien", "o'brien", true},
		{"remoteaccess_blocked_user", "jo$h", "jo$h@" + dc.DNSRoot, true}, // the implicit UPN of a name with "$" inside
		{"remoteaccess_blocked_user", "back`tick", "back`tick", true},
		{"remoteaccess_blocked_user", "zoë.núñez", "zoë.núñez", true},
		{"remoteaccess_blocked_user", "abcdefghij-klmnopqrs", "abcdefghij-klmnopqrs", false}, // 20 characters, disabled before
		{"remoteaccess_blocked_user", "longupn", longUPN, true},
		{"remoteaccess_blocked_device", "WORKSTATION-015$", "WORKSTATION-015", true}, // 15 characters
		{"remoteaccess_blocked_device", "O'NEIL-PC$", "O'NEIL-PC", true},
		{"remoteaccess_blocked_device", "JÖRG-PC$", "JÖRG-PC", true},
		{"remoteaccess_blocked_device", "PC(1)~$", "PC(1)~", true},
	}
	admin := dc.AdminConn()
	var config strings.Builder
	var sams []string
	var checks []statecheck.StateCheck
	var planChecks []plancheck.PlanCheck
	for i, b := range blocks {
		name := strings.TrimSuffix(b.sam, "$")
		attr := "user_name"
		if b.resource == "remoteaccess_blocked_device" {
			dc.CreateComputer(name, true)
			attr = "computer_name"
		} else {
			dc.CreateUser(name, "Hostile!Passw0rd-1")
		}
		if !b.enabled {
			dc.SambaTool("user", "disable", name)
		}
		addr := fmt.Sprintf("%s.h%d", b.resource, i)
		fmt.Fprintf(&config, "resource %q \"h%d\" {\n  %s = %q\n  reason = \"INC-9: hostile name\"\n  verify_seconds = 1\n}\n",
			b.resource, i, attr, b.configName)
		sams = append(sams, b.sam)
		checks = append(checks, statecheck.ExpectKnownValue(addr, tfjsonpath.New("was_enabled"), knownvalue.Bool(b.enabled)))
		planChecks = append(planChecks, plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate))
	}
	// A description and notes of their own, which the block must put back; and the long explicit UPN.
	setAttrs(t, admin, dc, "O'NEIL-PC$", map[string]string{"description": "Finance — O'Neil's `laptop` $HOME", "info": "asset tag 'A-1'"})
	setAttrs(t, admin, dc, "longupn", map[string]string{"userPrincipalName": longUPN})

	before := snapshotAccounts(dc)
	for _, b := range blocks {
		if !slices.ContainsFunc(slices.Collect(maps.Values(before)), func(a accountSnapshot) bool { return a.SAM == b.sam }) {
			t.Fatalf("Samba has no account %q after creating it", b.sam)
		}
	}
	cfg := l.providerConfig(config.String())
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraformState) error {
			if now := snapshotAccounts(dc); !maps.Equal(before, now) {
				return compareSnapshots(before, now, nil)
			}
			return nil
		},
		Steps: []resource.TestStep{
			{
				// Samba ignores the spaces around a name it compares: "alice " would find and block alice.
				Config:      l.providerConfig(blockedUserConfig("alice ")),
				ExpectError: regexp.MustCompile(`(?s)user_name.*leading or trailing spaces`),
			},
			{
				Config:            cfg,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: planChecks},
				ConfigStateChecks: checks,
				Check:             func(*terraformState) error { return compareSnapshots(before, snapshotAccounts(dc), sams) },
			},
			{Config: cfg, PlanOnly: true}, // every name reads back as it was written: nothing to change
		},
	})
}

// setAttrs replaces attributes of the account named sam over LDAP as the domain administrator.
func setAttrs(t *testing.T, conn *ldap.Conn, dc *samba.Instance, sam string, attrs map[string]string) {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(dc.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(sam)+")", nil, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("finding %s: %v", sam, err)
	}
	mod := ldap.NewModifyRequest(res.Entries[0].DN, nil)
	for name, value := range attrs {
		mod.Replace(name, []string{value})
	}
	if err := conn.Modify(mod); err != nil {
		t.Fatalf("setting %v on %s: %v", attrs, sam, err)
	}
}
