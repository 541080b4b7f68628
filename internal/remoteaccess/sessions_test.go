package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

func TestEquivalentUserNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{`CORP\bob`, []string{`CORP\bob`, `corp.example\bob`, `bob@corp.example`}},
		{`Corp.Example\bob`, []string{`Corp.Example\bob`, `CORP\bob`, `bob@corp.example`}},
		{`bob@CORP.example`, []string{`bob@CORP.example`, `CORP\bob`, `corp.example\bob`}},
		{`bob`, []string{`bob`, `CORP\bob`, `corp.example\bob`, `bob@corp.example`}},
		// Another domain's names, and malformed ones, stand for themselves only.
		{`OTHER\bob`, []string{`OTHER\bob`}},
		{`bob@other.example`, []string{`bob@other.example`}},
		{`CORP\`, []string{`CORP\`}},
	} {
		if got := EquivalentUserNames(tc.name, "CORP", "corp.example"); !slices.Equal(got, tc.want) {
			t.Errorf("EquivalentUserNames(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got := EquivalentUserNames(`CORP\bob`, "", ""); !slices.Equal(got, []string{`CORP\bob`}) {
		t.Errorf("without a known domain: %q, want the name alone", got)
	}
}

func TestSelectionsAreValidatedBeforeSending(t *testing.T) {
	r := answer(`{"disconnected":[],"removed":[]}`)
	c, err := NewCluster(map[string]Runner{"ras1": r})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, sel := range map[string]VPNSelection{
		"neither":        {},
		"both":           {UserNames: []string{`CORP\bob`}, HostIPAddresses: []string{"10.0.0.1"}},
		"wildcard":       {UserNames: []string{`CORP\bob*`}},
		"padded":         {UserNames: []string{` CORP\bob`}},
		"not an address": {HostIPAddresses: []string{"10.0.0.300"}},
		"zone":           {HostIPAddresses: []string{"fe80::1%eth0"}},
	} {
		if _, err := c.DisconnectVPNUsers(ctx, sel); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: DisconnectVPNUsers(%+v) = %v, want an invalid argument", name, sel, err)
		}
	}
	for name, sel := range map[string]SASelection{
		"neither":  {},
		"both":     {All: true, Identities: []string{`CORP\CLIENT1$`}},
		"wildcard": {Identities: []string{`CORP\CLIENT?$`}},
	} {
		if _, err := c.PurgeSAs(ctx, sel); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: PurgeSAs(%+v) = %v, want an invalid argument", name, sel, err)
		}
	}
	if calls := r.sent(); len(calls) != 0 {
		t.Errorf("invalid selections reached the server: %+v", calls)
	}

	// Addresses travel in canonical form, as Windows prints them.
	if _, err := c.DisconnectVPNUsers(ctx, VPNSelection{HostIPAddresses: []string{"2001:DB8:0::0:1", "::ffff:10.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	if calls := r.sent(); len(calls) != 1 || calls[0].input != `{"host_ip_addresses":["2001:db8::1","10.0.0.1"]}` {
		t.Errorf("sent %+v", calls)
	}
}

func TestSplitUnanswered(t *testing.T) {
	unreachable := &ServerError{Server: "ras2", Err: &winrm.Error{Kind: winrm.KindUnreachable}}
	timeout := &ServerError{Server: "ras3", Err: fmt.Errorf("wrapped: %w", &winrm.Error{Kind: winrm.KindTimeout})}
	auth := &ServerError{Server: "ras1", Err: &winrm.Error{Kind: winrm.KindAuth}}
	script := &ServerError{Server: "ras4", Err: &winrm.Error{Kind: winrm.KindScript}}

	missing, rest := SplitUnanswered(errors.Join(auth, unreachable, timeout, script))
	if !slices.Equal(missing, []string{"ras2", "ras3"}) {
		t.Errorf("unanswered = %q, want ras2 and ras3", missing)
	}
	if got := FailedServers(rest); !slices.Equal(got, []string{"ras1", "ras4"}) {
		t.Errorf("the rest names %q, want the servers that answered with a failure (ras1, ras4)", got)
	}
	if missing, rest := SplitUnanswered(nil); missing != nil || rest != nil {
		t.Errorf("SplitUnanswered(nil) = %q, %v", missing, rest)
	}
	plain := errors.New("no server error at all")
	if _, rest := SplitUnanswered(plain); !errors.Is(rest, plain) {
		t.Errorf("an error naming no server was dropped: %v", rest)
	}
}
