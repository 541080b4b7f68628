package kerberos

import "testing"

func TestPrincipalName(t *testing.T) {
	for in, want := range map[string]string{
		"svc-remoteaccess":                   "svc-remoteaccess",
		`CORP\svc-remoteaccess`:              "svc-remoteaccess",
		"svc-remoteaccess@CORP.EXAMPLE":      "svc-remoteaccess",
		`CORP\svc-remoteaccess@CORP.EXAMPLE`: "svc-remoteaccess",
	} {
		if got := PrincipalName(in); got != want {
			t.Errorf("PrincipalName(%q) = %q, want %q", in, got, want)
		}
	}
}
