package directory_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/samba"
)

// These tests run against a real Samba AD DC seeded from scripts/samba-seed.json. They share one
// instance and run in order; each subtest restores what it changes.
func TestSamba(t *testing.T) {
	dc := samba.Start(t)
	e := &env{dc: dc}
	t.Run("binds", e.testBinds)
	t.Run("kerberos", e.testKerberos)
	t.Run("lookups", e.testLookups)
	t.Run("literal names", e.testLiteralNames)
	t.Run("disable and enable", e.testDisableEnable)
	t.Run("guards", e.testGuards)
	t.Run("holds", e.testHolds)
	t.Run("keep-enabled holds", e.testKeepEnabledHolds)
	t.Run("dial-in", e.testDialIn)
	t.Run("published certificates", e.testPublishedCertificates)
	t.Run("utf16 limits", e.testUTF16Limits)
	t.Run("record section", e.testRecordSection)
	t.Run("nested admin", e.testNestedAdmin)
	t.Run("find by GUID across the domain", e.testFindByGUIDAcrossTheDomain)
	t.Run("writer", e.testWriter)
	t.Run("list disabled", e.testListDisabled)
	t.Run("wait visible", e.testWaitVisible)
	t.Run("failover", e.testFailover)
	t.Run("parallel", e.testParallel)
	t.Run("restart", e.testRestart) // last: it restarts the server
}

type env struct{ dc *samba.Instance }

func (e *env) config(mutate ...func(*directory.Config)) directory.Config {
	cfg := directory.Config{
		URLs: []string{e.dc.LDAPSURL}, CACertPEM: e.dc.CACertPEM,
		BindUsername: e.dc.AdminUPN, BindPassword: e.dc.AdminPassword,
		Timeout: 20 * time.Second,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return cfg
}

func (e *env) client(t *testing.T, mutate ...func(*directory.Config)) *directory.Client {
	t.Helper()
	c, err := directory.New(e.config(mutate...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) checkDomain(t *testing.T, c *directory.Client) {
	t.Helper()
	dom, err := c.Domain(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(dom.BaseDN, e.dc.BaseDN) || dom.DNSRoot != e.dc.DNSRoot || dom.NetBIOSName != e.dc.NetBIOSDomain {
		t.Errorf("Domain = %+v; want base %s, DNS root %s, NetBIOS %s", dom, e.dc.BaseDN, e.dc.DNSRoot, e.dc.NetBIOSDomain)
	}
}

func (e *env) testBinds(t *testing.T) {
	users := map[string]string{
		"UPN":       e.dc.AdminUPN,
		"DOMAIN\\u": e.dc.NetBIOSDomain + `\` + e.dc.AdminUser,
		"DN":        e.dc.AdminDN,
	}
	for form, user := range users {
		t.Run("LDAPS "+form, func(t *testing.T) {
			e.checkDomain(t, e.client(t, func(c *directory.Config) { c.BindUsername = user }))
		})
		t.Run("StartTLS "+form, func(t *testing.T) {
			e.checkDomain(t, e.client(t, func(c *directory.Config) {
				c.BindUsername, c.URLs, c.StartTLS = user, []string{e.dc.LDAPURL}, true
			}))
		})
	}
	t.Run("wrong password is LDAP result 49", func(t *testing.T) {
		_, err := e.client(t, func(c *directory.Config) { c.BindPassword = "wrong" }).Domain(ctx(t))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			t.Errorf("Domain with a wrong password = %v; want result code 49", err)
		}
	})
	t.Run("unknown CA is refused", func(t *testing.T) {
		_, err := e.client(t, func(c *directory.Config) { c.CACertPEM = nil }).Domain(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Domain without the CA = %v; want a certificate error", err)
		}
	})
	t.Run("plaintext simple bind is refused by AD", func(t *testing.T) {
		_, err := e.client(t, func(c *directory.Config) {
			c.URLs, c.AllowPlaintext = []string{e.dc.LDAPURL}, true
		}).Domain(ctx(t))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
			t.Errorf("plaintext bind = %v; want Strong Auth Required (8)", err)
		}
	})
}

func (e *env) testKerberos(t *testing.T) {
	krb := func(keytab string) func(*directory.Config) {
		return func(c *directory.Config) {
			c.BindUsername = e.dc.AdminUser
			c.Kerberos = &directory.KerberosConfig{Realm: e.dc.Realm, Krb5ConfPath: e.dc.Krb5Conf, KeytabPath: keytab}
			if keytab != "" {
				c.BindPassword = ""
			}
		}
	}
	t.Run("password", func(t *testing.T) { e.checkDomain(t, e.client(t, krb(""))) })
	t.Run("keytab", func(t *testing.T) {
		c := e.client(t, krb(e.dc.ExportKeytab(e.dc.AdminUser+"@"+e.dc.Realm)))
		e.checkDomain(t, c)
		if _, err := c.FindUser(ctx(t), "alice"); err != nil {
			t.Error(err)
		}
	})
	t.Run("explicit SPN over StartTLS", func(t *testing.T) {
		e.checkDomain(t, e.client(t, krb(""), func(c *directory.Config) {
			c.URLs, c.StartTLS = []string{e.dc.LDAPURL}, true
			c.Kerberos.SPN = "ldap/" + e.dc.DCHostName
		}))
	})
	t.Run("plaintext explains the missing signing layer", func(t *testing.T) {
		_, err := e.client(t, krb(""), func(c *directory.Config) {
			c.URLs, c.AllowPlaintext = []string{e.dc.LDAPURL}, true
		}).Domain(ctx(t))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) || !strings.Contains(err.Error(), "signing layer") {
			t.Errorf("Kerberos over plaintext = %v; want Strong Auth Required with an explanation", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		_, err := e.client(t, krb(""), func(c *directory.Config) { c.BindPassword = "wrong" }).Domain(ctx(t))
		if err == nil || !strings.Contains(err.Error(), "kerberos") {
			t.Errorf("Kerberos with a wrong password = %v; want a kerberos login error", err)
		}
	})
}

// reference reads an account with Samba's own ldbsearch, which prints objectGUID and objectSid as strings.
func (e *env) reference(t *testing.T, sam string) map[string][]string {
	t.Helper()
	return e.dc.LDBSearch("(sAMAccountName="+ldap.EscapeFilter(sam)+")",
		"objectGUID", "objectSid", "userAccountControl", "userPrincipalName", "dNSHostName")
}

func (e *env) testLookups(t *testing.T) {
	c := e.client(t)
	comp, err := c.FindComputer(ctx(t), "client1")
	if err != nil {
		t.Fatal(err)
	}
	ref := e.reference(t, "CLIENT1$")
	if comp.Kind != directory.KindComputer || comp.SAMAccountName != "CLIENT1$" || comp.DNSHostName != "client1.samba.test" ||
		!strings.EqualFold(comp.DN, "CN=CLIENT1,OU=Laptops,"+e.dc.BaseDN) || !comp.Enabled() || comp.UserAccountControl != 0x1000 {
		t.Errorf("FindComputer(client1) = %+v", comp)
	}
	if comp.ObjectGUID != ref["objectGUID"][0] || comp.ObjectSID != ref["objectSid"][0] {
		t.Errorf("GUID/SID %s %s; ldbsearch says %s %s", comp.ObjectGUID, comp.ObjectSID, ref["objectGUID"][0], ref["objectSid"][0])
	}

	user, err := c.FindUser(ctx(t), "alice")
	if err != nil {
		t.Fatal(err)
	}
	ref = e.reference(t, "alice")
	if user.Kind != directory.KindUser || user.UserPrincipalName != "alice@samba.test" || user.ObjectGUID != ref["objectGUID"][0] ||
		user.ObjectSID != ref["objectSid"][0] || len(user.MemberOf) != 2 || !user.Enabled() {
		t.Errorf("FindUser(alice) = %+v; ldbsearch says %v", user, ref)
	}
	byUPN, err := c.FindUser(ctx(t), "Alice@Samba.Test")
	if err != nil || byUPN.DN != user.DN {
		t.Errorf("FindUser by UPN = %+v, %v", byUPN, err)
	}
	byGUID, err := c.FindByGUID(ctx(t), directory.KindUser, strings.ToUpper(user.ObjectGUID))
	if err != nil || byGUID.DN != user.DN {
		t.Errorf("FindByGUID = %+v, %v", byGUID, err)
	}
	if _, err := c.FindByGUID(ctx(t), directory.KindComputer, user.ObjectGUID); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("FindByGUID of a user as a computer = %v; want ErrNotFound", err)
	}
	// Overlapping lookups share one search (an OR of binary GUIDs) and each gets its own answer.
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if got, err := c.FindByGUID(ctx(t), directory.KindComputer, comp.ObjectGUID); err != nil || got.DN != comp.DN {
				t.Errorf("overlapping FindByGUID of CLIENT1 = %s, %v", got.DN, err)
			}
		})
		wg.Go(func() {
			if _, err := c.FindByGUID(ctx(t), directory.KindComputer, user.ObjectGUID); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("overlapping FindByGUID of a user as a computer = %v; want ErrNotFound", err)
			}
		})
	}
	wg.Wait()
	if _, err := c.FindUser(ctx(t), "CLIENT1$"); err == nil {
		t.Error("FindUser found a computer account")
	}
	if _, err := c.FindComputer(ctx(t), "nosuch"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("FindComputer(nosuch) = %v; want ErrNotFound", err)
	}
	dom, _ := c.Domain(ctx(t))
	if got := directory.DeviceIdentities(comp, dom); !slices.Equal(got, []string{`SAMBATEST\CLIENT1$`, "CLIENT1$@samba.test", "client1.samba.test"}) {
		t.Errorf("DeviceIdentities = %q", got)
	}
	if got := directory.UserIdentities(user, dom); !slices.Equal(got, []string{`SAMBATEST\alice`, "alice@samba.test"}) {
		t.Errorf("UserIdentities = %q", got)
	}
}

// Names reach the filter escaped: a lookup matches one account literally, never as a pattern.
func (e *env) testLiteralNames(t *testing.T) {
	e.dc.CreateComputer("CL(1)", true)
	e.dc.CreateComputer("CL(10)", true)
	c := e.client(t)
	for name, want := range map[string]string{"client1": "CLIENT1$", "CLIENT10": "CLIENT10$", "cl(1)": "CL(1)$", "CL(10)": "CL(10)$"} {
		got, err := c.FindComputer(ctx(t), name)
		if err != nil || got.SAMAccountName != want {
			t.Errorf("FindComputer(%q) = %q, %v; want exactly %s", name, got.SAMAccountName, err, want)
		}
	}
	for _, name := range []string{"CL(1", "CL)", "*)(sAMAccountName=*", "a)(b"} {
		if _, err := c.FindUser(ctx(t), name); err == nil {
			t.Errorf("FindUser(%q) found something", name)
		}
	}
	for _, name := range []string{"client*", "*", `CL\28`, "client1\x00", "CL(1)\x00x"} {
		_, err := c.FindComputer(ctx(t), name)
		var verr *directory.ValidationError
		if !errors.As(err, &verr) {
			t.Errorf("FindComputer(%q) = %v; want a ValidationError", name, err)
		}
	}
}

// uac reads userAccountControl with Samba's ldbsearch.
func (e *env) uac(t *testing.T, sam string) uint32 {
	t.Helper()
	v, err := strconv.ParseUint(e.reference(t, sam)["userAccountControl"][0], 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(v)
}

func (e *env) testDisableEnable(t *testing.T) {
	c := e.client(t, func(c *directory.Config) { c.DomainControllers = []string{e.dc.LDAPSURL} })
	for _, tc := range []struct {
		kind directory.Kind
		name string
		sam  string
	}{{directory.KindComputer, "client10", "CLIENT10$"}, {directory.KindUser, "bob", "bob"}} {
		t.Run(string(tc.kind), func(t *testing.T) {
			var acct directory.Account
			var err error
			if tc.kind == directory.KindComputer {
				acct, err = c.FindComputer(ctx(t), tc.name)
			} else {
				acct, err = c.FindUser(ctx(t), tc.name)
			}
			if err != nil {
				t.Fatal(err)
			}
			before := e.uac(t, tc.sam)
			steps := []struct {
				disabled, wasEnabled bool
				uac                  uint32
			}{
				{true, true, before | 2},
				{true, false, before | 2}, // idempotent
				{false, false, before},
				{false, true, before},
			}
			for i, s := range steps {
				was, err := c.SetDisabled(ctx(t), acct, s.disabled)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if was != s.wasEnabled {
					t.Errorf("step %d: SetDisabled(%v) wasEnabled = %v; want %v", i, s.disabled, was, s.wasEnabled)
				}
				if err := c.WaitVisible(ctx(t), acct.DN, directory.Visible{Disabled: s.disabled, Enabled: !s.disabled}); err != nil {
					t.Errorf("step %d: %v", i, err)
				}
				if got := e.uac(t, tc.sam); got != s.uac {
					t.Errorf("step %d: userAccountControl = %#x; want %#x (only bit 0x2 may change)", i, got, s.uac)
				}
			}
		})
	}
}

func (e *env) testGuards(t *testing.T) {
	c := e.client(t, func(c *directory.Config) {
		c.ProtectedComputers = []directory.Protected{{Name: "RAS1", Why: "it is the Remote Access server ras1 (provider servers)"}}
		c.AllowedSearchBases = []string{"OU=Laptops," + e.dc.BaseDN, "CN=Users," + e.dc.BaseDN}
	})
	find := func(kind directory.Kind, name string) directory.Account {
		t.Helper()
		var a directory.Account
		var err error
		if kind == directory.KindComputer {
			a, err = c.FindComputer(ctx(t), name)
		} else {
			a, err = c.FindUser(ctx(t), name)
		}
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		kind         directory.Kind
		name, sam    string
		reasonInText string
	}{
		{directory.KindComputer, e.dc.DCName, e.dc.DCName + "$", "domain controller"},
		{directory.KindUser, "Administrator", "Administrator", "critical system object"},
		{directory.KindUser, "krbtgt", "krbtgt", "critical system object"},
		{directory.KindComputer, "ras1", "RAS1$", "Remote Access server ras1"},
		{directory.KindComputer, "kiosk7", "KIOSK7$", "outside ldap.allowed_search_bases"},
	} {
		before := e.uac(t, tc.sam)
		_, err := c.SetDisabled(ctx(t), find(tc.kind, tc.name), true)
		var gerr *directory.GuardError
		if !errors.As(err, &gerr) || !strings.Contains(gerr.Reason, tc.reasonInText) {
			t.Errorf("disabling %s = %v; want a GuardError about %s", tc.name, err, tc.reasonInText)
		}
		if after := e.uac(t, tc.sam); after != before {
			t.Errorf("%s: userAccountControl changed from %#x to %#x despite the guard", tc.name, before, after)
		}
	}
	// Enabling is not guarded: an account disabled outside this provider can be re-enabled.
	if was, err := c.SetDisabled(ctx(t), find(directory.KindComputer, "kiosk7"), false); err != nil || !was {
		t.Errorf("enabling kiosk7 = %v, %v; want no error, was enabled", was, err)
	}
}

func names(accts []directory.Account) []string {
	var out []string
	for _, a := range accts {
		out = append(out, a.SAMAccountName)
	}
	slices.Sort(out)
	return out
}

func (e *env) testListDisabled(t *testing.T) {
	// Below the domain's root Samba, like AD, returns a continuation reference to the Configuration partition:
	// the listing leaves it unchased instead of failing or following it.
	raw, err := e.dc.AdminConn().SearchWithPaging(ldap.NewSearchRequest(e.dc.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(userAccountControl:1.2.840.113556.1.4.803:=2)", []string{"dn"}, nil), 100)
	if err != nil || len(raw.Referrals) == 0 {
		t.Fatalf("a raw subtree search from the root returned referrals %q, %v; want a continuation reference", raw.Referrals, err)
	}

	c := e.client(t)
	comps, err := c.ListDisabled(ctx(t), directory.KindComputer, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(comps); !slices.Equal(got, []string{"CLIENT2$"}) {
		t.Errorf("disabled computers = %q; want [CLIENT2$]", got)
	}
	users, err := c.ListDisabled(ctx(t), directory.KindUser, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(users); !slices.Equal(got, []string{"Guest", "carol", "krbtgt"}) {
		t.Errorf("disabled users = %q; want [Guest carol krbtgt]", got)
	}

	confined := e.client(t, func(c *directory.Config) { c.AllowedSearchBases = []string{"OU=Servers," + e.dc.BaseDN} })
	if got, err := confined.ListDisabled(ctx(t), directory.KindComputer, ""); err != nil || len(got) != 0 {
		t.Errorf("disabled computers under OU=Servers = %q, %v; want none", names(got), err)
	}
	_, err = confined.ListDisabled(ctx(t), directory.KindComputer, "OU=Laptops,"+e.dc.BaseDN)
	var verr *directory.ValidationError
	if !errors.As(err, &verr) {
		t.Errorf("ListDisabled outside AllowedSearchBases = %v; want a ValidationError", err)
	}
}

func (e *env) testWaitVisible(t *testing.T) {
	dead := "ldaps://127.0.0.1:1"
	c := e.client(t, func(c *directory.Config) { c.DomainControllers = []string{e.dc.LDAPSURL, dead} })
	acct, err := c.FindComputer(ctx(t), "client2") // disabled in the seed
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err = c.WaitVisible(short, acct.DN, directory.Visible{Disabled: true})
	var verr *directory.VisibilityError
	if !errors.As(err, &verr) || !slices.Equal(verr.Lagging, []string{dead}) {
		t.Errorf("WaitVisible with a dead controller = %v; want it named alone", err)
	}

	short, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err = e.client(t).WaitVisible(short, acct.DN, directory.Visible{Enabled: true}) // it never becomes enabled
	if !errors.As(err, &verr) || !strings.Contains(err.Error(), "still disabled") {
		t.Errorf("WaitVisible for a change that never happens = %v; want it to say the account is still disabled", err)
	}
}

func (e *env) testFailover(t *testing.T) {
	c := e.client(t, func(c *directory.Config) { c.URLs = []string{"ldaps://127.0.0.1:1", e.dc.LDAPSURL} })
	e.checkDomain(t, c)
	_, err := e.client(t, func(c *directory.Config) {
		c.URLs = []string{"ldaps://127.0.0.1:1", "ldaps://127.0.0.1:2"}
	}).Domain(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "127.0.0.1:2") {
		t.Errorf("Domain with only dead URLs = %v; want both named", err)
	}
}

// Many goroutines share one client: lookups of every seeded account and flips of a few.
func (e *env) testParallel(t *testing.T) {
	c := e.client(t)
	lookups := map[string]directory.Kind{
		"client1": directory.KindComputer, "client10": directory.KindComputer, "ras2": directory.KindComputer,
		"alice": directory.KindUser, "bob": directory.KindUser, "svc-remoteaccess": directory.KindUser,
	}
	flipped := []string{"kiosk7", "ras2"}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Go(func() {
			if i%4 == 0 {
				name := flipped[i%len(flipped)]
				acct, err := c.FindComputer(ctx(t), name)
				if err == nil {
					_, err = c.SetDisabled(ctx(t), acct, i%8 == 0)
				}
				if err == nil {
					_, err = c.SetDisabled(ctx(t), acct, false)
				}
				errs <- err
				return
			}
			var keys []string
			for k := range lookups {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			name := keys[i%len(keys)]
			var got directory.Account
			var err error
			if lookups[name] == directory.KindComputer {
				got, err = c.FindComputer(ctx(t), name)
			} else {
				got, err = c.FindUser(ctx(t), name)
			}
			if err == nil && !strings.EqualFold(strings.TrimSuffix(got.SAMAccountName, "$"), name) {
				err = fmt.Errorf("lookup of %s returned %s", name, got.SAMAccountName)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for _, sam := range []string{"KIOSK7$", "RAS2$"} {
		if got := e.uac(t, sam); got != 0x1000 {
			t.Errorf("%s userAccountControl = %#x after the flips; want 0x1000", sam, got)
		}
	}
}

// The same client keeps working across a server restart: its idle connections are dead, and it
// reconnects without the caller noticing.
func (e *env) testRestart(t *testing.T) {
	c := e.client(t)
	if _, err := c.FindComputer(ctx(t), "client1"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // a steady load through the restart; errors while the server is down are expected
		for {
			select {
			case <-stop:
				return
			default:
			}
			short, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, _ = c.FindUser(short, "alice")
			cancel()
		}
	})
	e.dc.Restart()
	close(stop)
	wg.Wait()
	for _, name := range []string{"client1", "client10"} {
		if _, err := c.FindComputer(ctx(t), name); err != nil {
			t.Errorf("after the restart: %v", err)
		}
	}
}

// A block's record is written and removed on a real Active Directory: the notes and the description come back as
// they were, and the account's state only follows the last hold.
// A remote-access-only hold (account=enabled) is written to Samba's info, read back with the certificates it holds,
// and never disables; the release
// of a disabling hold beside it enables the account, and the last release restores everything.
func (e *env) testKeepEnabledHolds(t *testing.T) {
	c := e.client(t)
	find := func() directory.Account {
		t.Helper()
		acct, err := c.FindComputer(ctx(t), "client10")
		if err != nil {
			t.Fatal(err)
		}
		return acct
	}
	read := func() map[string][]string {
		return e.dc.LDBSearch("(sAMAccountName=CLIENT10$)", "userAccountControl", "info", "description")
	}
	disabled := func() bool { return e.uac(t, "CLIENT10$")&directory.UFAccountDisable != 0 }
	before := read()
	keep := directory.Hold{ID: "keep", Since: time.Now(), By: "svc", Reason: "travel", KeepsEnabled: true}
	if _, err := c.Hold(ctx(t), find(), directory.HoldRequest{Hold: keep, Record: true}); err != nil || disabled() {
		t.Fatalf("keep-enabled hold: %v, disabled %v", err, disabled())
	}
	rec := directory.ParseBlockRecord(strings.Join(read()["info"], ""))
	if rec == nil || len(rec.Holds) != 1 || !rec.Holds[0].KeepsEnabled {
		t.Fatalf("Samba's info does not read back the keep-enabled hold: %v", read())
	}
	// The certificates it holds, written into its hold line, read back from Samba's own database.
	if err := c.RecordCertificates(ctx(t), find(), "keep", []string{"1A2B3C", "4D5E"}); err != nil || disabled() {
		t.Fatalf("recording the held certificates: %v, disabled %v", err, disabled())
	}
	if rec := directory.ParseBlockRecord(strings.Join(read()["info"], "")); rec == nil || len(rec.Holds) != 1 ||
		!slices.Equal(rec.Holds[0].Certificates, []string{"1A2B3C", "4D5E"}) || !rec.Holds[0].KeepsEnabled {
		t.Fatalf("Samba's info does not read back the held certificates: %v", read())
	}
	if _, err := c.Hold(ctx(t), find(), directory.HoldRequest{Hold: directory.Hold{ID: "off", Since: time.Now(), By: "svc"}, Record: true}); err != nil || !disabled() {
		t.Fatalf("disabling hold: %v, disabled %v", err, disabled())
	}
	if rel, err := c.Release(ctx(t), find(), "off", true); err != nil || !rel.Enabled || disabled() {
		t.Fatalf("release of the disabling hold = %+v, %v; want the account enabled", rel, err)
	}
	if rel, err := c.Release(ctx(t), find(), "keep", false); err != nil || rel.Enabled {
		t.Fatalf("release of the keep-enabled hold = %+v, %v", rel, err)
	}
	if after := read(); !slices.Equal(after["userAccountControl"], before["userAccountControl"]) ||
		!slices.Equal(after["info"], before["info"]) || !slices.Equal(after["description"], before["description"]) {
		t.Errorf("after the last release %v; want %v", after, before)
	}
}

func (e *env) testHolds(t *testing.T) {
	c := e.client(t)
	acct, err := c.FindComputer(ctx(t), "client10")
	if err != nil {
		t.Fatal(err)
	}
	read := func() map[string][]string {
		return e.dc.LDBSearch("(sAMAccountName=CLIENT10$)", "userAccountControl", "info", "description")
	}
	before := read()
	hold := func(id string) {
		t.Helper()
		if _, err := c.Hold(ctx(t), acct, directory.HoldRequest{Hold: directory.Hold{ID: id, Since: time.Now(), By: "svc", Reason: "test " + id},
			Record: true}); err != nil {
			t.Fatal(err)
		}
	}
	hold("a")
	hold("b")
	got := read()
	rec := directory.ParseBlockRecord(strings.Join(got["info"], ""))
	if rec == nil || !rec.PriorEnabled || len(rec.Holds) != 2 || e.uac(t, "CLIENT10$")&directory.UFAccountDisable == 0 {
		t.Fatalf("after two holds: %v", got)
	}
	if len(got["description"]) != 1 || !strings.Contains(got["description"][0], "test a") {
		t.Errorf("description %v; want the first hold's summary", got["description"])
	}
	if rel, err := c.Release(ctx(t), acct, "a", true); err != nil || rel.Enabled {
		t.Fatalf("release a = %+v, %v", rel, err)
	}
	if rel, err := c.Release(ctx(t), acct, "b", false); err != nil || !rel.Enabled {
		t.Fatalf("release b = %+v, %v", rel, err)
	}
	if after := read(); !slices.Equal(after["userAccountControl"], before["userAccountControl"]) ||
		!slices.Equal(after["info"], before["info"]) || !slices.Equal(after["description"], before["description"]) {
		t.Errorf("after the last release %v; want %v", after, before)
	}
}
