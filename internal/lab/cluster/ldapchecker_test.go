package cluster

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/ldapserver"
)

// startDirectory serves the lab's directory seed, in which carol and RETIRED1 are disabled.
func startDirectory(t *testing.T) *ldapserver.Directory {
	t.Helper()
	seed, err := ldapserver.LoadSeed("../testdata/seed.json")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := ldapserver.New(seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := dir.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	return dir
}

func TestLDAPCheckerReadsAccountDisable(t *testing.T) {
	dir := startDirectory(t)
	admin := dir.AdminCredentials()
	for _, url := range []string{dir.LDAPSURL(), dir.LDAPURL()} {
		checker, err := NewLDAPChecker(url, dir.CACertPEM(), admin.UPN, admin.Password)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		wants := map[string]bool{
			"alice": true, "carol": false, "CLIENT1$": true, "client10$": true, "LAPTOP-ÄÖ$": true, "RETIRED1$": false,
			"CLIENT1": false, "nobody": false, "*": false, "alice)(sAMAccountName=*": false,
		}
		var accounts []string
		for account, want := range wants {
			accounts = append(accounts, account)
			got, err := checker.AccountEnabled(ctx, account)
			if err != nil || got != want {
				t.Errorf("%s: AccountEnabled(%q) = %v, %v; want %v", url, account, got, err, want)
			}
		}
		// Asked all at once, over one connection, the answers are the same.
		all, err := checker.AccountsEnabled(ctx, accounts)
		if err != nil || !maps.Equal(all, wants) {
			t.Errorf("%s: AccountsEnabled = %v, %v; want %v", url, all, err, wants)
		}
	}
}

func TestLDAPCheckerFailures(t *testing.T) {
	dir := startDirectory(t)
	admin := dir.AdminCredentials()
	ctx := context.Background()
	wrongPassword, err := NewLDAPChecker(dir.LDAPSURL(), dir.CACertPEM(), admin.UPN, "wrong")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wrongPassword.AccountEnabled(ctx, "alice"); err == nil {
		t.Error("a wrong bind password was not reported")
	}
	noCA, err := NewLDAPChecker(dir.LDAPSURL(), nil, admin.UPN, admin.Password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noCA.AccountEnabled(ctx, "alice"); err == nil {
		t.Error("a certificate from an unknown CA was accepted")
	}
	for _, url := range []string{"http://127.0.0.1:389", "::"} {
		if _, err := NewLDAPChecker(url, nil, "", ""); err == nil {
			t.Errorf("NewLDAPChecker(%q) accepted the URL", url)
		}
	}
}
