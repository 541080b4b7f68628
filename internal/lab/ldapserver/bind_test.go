package ldapserver

import (
	"slices"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestBindNameFormsOverLDAPSAndStartTLS(t *testing.T) {
	d := startLab(t)
	creds := d.AdminCredentials()
	forms := map[string]string{
		"UPN":              creds.UPN,
		"UPN upper realm":  "svc-remoteaccess@CORP.EXAMPLE",
		"down-level":       creds.DownLevel,
		"down-level lower": `corp\SVC-REMOTEACCESS`,
		"DN":               creds.DN,
	}
	dials := map[string]func(*testing.T, *Directory) *ldap.Conn{"LDAPS": dialLDAPS, "StartTLS": dialStartTLS}
	for transport, dial := range dials {
		for form, name := range forms {
			t.Run(transport+"/"+form, func(t *testing.T) {
				c := dial(t, d)
				if err := c.Bind(name, creds.Password); err != nil {
					t.Fatalf("bind as %q: %v", name, err)
				}
				// A bound connection may search the domain.
				if got := search(t, c, d.BaseDN(), ldap.ScopeBaseObject, "(objectClass=domain)"); len(got) != 1 {
					t.Fatalf("domain head: got %d entries", len(got))
				}
			})
		}
	}
}

func TestBindFailuresLookLikeAD(t *testing.T) {
	d := startLab(t)
	creds := d.AdminCredentials()
	carol, _ := d.Credentials("carol")

	c := dialLDAPS(t, d)
	wantLDAPError(t, c.Bind(creds.UPN, "wrong"), ldap.LDAPResultInvalidCredentials, "data 52e")
	wantLDAPError(t, c.Bind("nobody@corp.example", "whatever"), ldap.LDAPResultInvalidCredentials, "data 52e")
	wantLDAPError(t, c.Bind(`OTHER\svc-remoteaccess`, creds.Password), ldap.LDAPResultInvalidCredentials, "data 52e")
	wantLDAPError(t, c.Bind(carol.UPN, carol.Password), ldap.LDAPResultInvalidCredentials, "data 533")
	wantLDAPError(t, c.Bind("krbtgt@corp.example", "anything"), ldap.LDAPResultInvalidCredentials, "data 52e")
	wantLDAPError(t, c.UnauthenticatedBind(creds.UPN), ldap.LDAPResultUnwillingToPerform, "unauthenticated bind")

	// A failed bind leaves the connection anonymous: the domain is not readable.
	_, err := c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	wantLDAPError(t, err, ldap.LDAPResultOperationsError, "000004DC")
}

func TestPlaintextBindIsRefused(t *testing.T) {
	d := startLab(t)
	creds := d.AdminCredentials()
	c := dialPlain(t, d)
	wantLDAPError(t, c.Bind(creds.UPN, creds.Password), ldap.LDAPResultStrongAuthRequired, "Transport encryption required")
	// After StartTLS on the same connection the bind works.
	cfg := clientTLS(t, d)
	cfg.ServerName = "127.0.0.1" // the certificate carries the loopback address too
	if err := c.StartTLS(cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.Bind(creds.UPN, creds.Password); err != nil {
		t.Fatalf("bind after StartTLS: %v", err)
	}
}

func TestCertificateNamesTheDomainController(t *testing.T) {
	d := startLab(t)
	cfg := clientTLS(t, d)
	cfg.ServerName = "dc1.corp.example"
	c, err := ldap.DialURL(d.LDAPSURL(), ldap.DialWithTLSConfig(cfg))
	if err != nil {
		t.Fatalf("verify as dc1.corp.example: %v", err)
	}
	_ = c.Close()

	cfg = clientTLS(t, d)
	cfg.ServerName = "dc9.corp.example"
	if c, err := ldap.DialURL(d.LDAPSURL(), ldap.DialWithTLSConfig(cfg)); err == nil {
		_ = c.Close()
		t.Fatal("certificate verified for a name it was not issued to")
	}
}

func TestAnonymousReadsOnlyTheRootDSE(t *testing.T) {
	d := startLab(t)
	c := dialPlain(t, d)
	root := search(t, c, "", ldap.ScopeBaseObject, "(objectClass=*)")
	if len(root) != 1 {
		t.Fatalf("root DSE: got %d entries", len(root))
	}
	_, err := c.Search(ldap.NewSearchRequest(d.BaseDN(), ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=computer)", nil, nil))
	wantLDAPError(t, err, ldap.LDAPResultOperationsError, "successful bind must be completed")
}

func TestRootDSEAndNetBIOSDiscovery(t *testing.T) {
	d := startLab(t)
	c := dialLDAPS(t, d)
	root := search(t, c, "", ldap.ScopeBaseObject, "(objectClass=*)")[0]
	want := map[string]string{
		"defaultNamingContext":       "DC=corp,DC=example",
		"rootDomainNamingContext":    "DC=corp,DC=example",
		"configurationNamingContext": "CN=Configuration,DC=corp,DC=example",
		"dnsHostName":                "dc1.corp.example",
	}
	for attr, v := range want {
		if got := root.GetAttributeValue(attr); got != v {
			t.Errorf("%s = %q, want %q", attr, got, v)
		}
	}
	if !slices.Contains(root.GetAttributeValues("supportedControl"), "1.2.840.113556.1.4.319") {
		t.Errorf("supportedControl lacks paged results: %v", root.GetAttributeValues("supportedControl"))
	}
	if !slices.Contains(root.GetAttributeValues("supportedLDAPVersion"), "3") {
		t.Errorf("supportedLDAPVersion: %v", root.GetAttributeValues("supportedLDAPVersion"))
	}
	if len(root.GetAttributeValues("supportedSASLMechanisms")) == 0 {
		t.Error("supportedSASLMechanisms missing")
	}

	// Asking for one attribute returns just that one.
	only := search(t, c, "", ldap.ScopeBaseObject, "(objectClass=*)", "defaultNamingContext")[0]
	if len(only.Attributes) != 1 {
		t.Errorf("asked for one attribute, got %d", len(only.Attributes))
	}

	// NetBIOS name, as a client discovers it on AD.
	creds := d.AdminCredentials()
	if err := c.Bind(creds.DownLevel, creds.Password); err != nil {
		t.Fatal(err)
	}
	partitions := "CN=Partitions," + root.GetAttributeValue("configurationNamingContext")
	filter := "(&(objectClass=crossRef)(nCName=" + ldap.EscapeFilter(root.GetAttributeValue("defaultNamingContext")) + "))"
	refs := search(t, c, partitions, ldap.ScopeSingleLevel, filter, "nETBIOSName", "dnsRoot")
	if len(refs) != 1 || refs[0].GetAttributeValue("nETBIOSName") != "CORP" || refs[0].GetAttributeValue("dnsRoot") != "corp.example" {
		t.Fatalf("crossRef: %+v", refs)
	}
}
