package provider

import (
	"context"
	"encoding/binary"
	"regexp"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/labclient"
)

// directoryEntry reads an account straight from the lab's directory: DN, objectGUID and memberOf.
func (l *testLab) directoryEntry(t *testing.T, sam string) (dn, guid string, memberOf []string) {
	t.Helper()
	conn := labclient.LDAP(t, l.info)
	res, err := conn.Search(ldap.NewSearchRequest(l.info.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(sAMAccountName="+ldap.EscapeFilter(sam)+")", []string{"objectGUID", "memberOf"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("reading %s from the lab's directory: %v", sam, err)
	}
	e := res.Entries[0]
	raw := e.GetRawAttributeValue("objectGUID")
	// objectGUID is mixed-endian: the first three groups are little-endian.
	binary.BigEndian.PutUint32(raw[0:], binary.LittleEndian.Uint32(raw[0:]))
	binary.BigEndian.PutUint16(raw[4:], binary.LittleEndian.Uint16(raw[4:]))
	binary.BigEndian.PutUint16(raw[6:], binary.LittleEndian.Uint16(raw[6:]))
	id, err := uuid.FromBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e.DN, id.String(), e.GetAttributeValues("memberOf")
}

func TestAccDeviceAndUser_lookups(t *testing.T) {
	l := startLab(t)
	l.setEnabled(t, "CLIENT10$", false) // disabled by hand: no block holds it
	// CLIENT2 is held by a block, as remoteaccess_blocked_device leaves it: disabled, with its block record.
	dir := labclient.Directory(t, l.info)
	client2, err := dir.FindComputer(context.Background(), "CLIENT2")
	if err != nil {
		t.Fatal(err)
	}
	hold := directory.HoldRequest{Record: true, Hold: directory.Hold{ID: "0123456789abcdef", Since: time.Now().UTC(), By: "test", Reason: "INC-1"}}
	if _, err := dir.Hold(context.Background(), client2, hold); err != nil {
		t.Fatal(err)
	}
	client1DN, client1GUID, client1Groups := l.directoryEntry(t, "CLIENT1$")
	carolDN, carolGUID, _ := l.directoryEntry(t, "carol")
	if len(client1Groups) == 0 {
		t.Fatal("CLIENT1 is in no group in the lab's directory: the test would prove nothing")
	}
	groups := make([]knownvalue.Check, len(client1Groups))
	for i, g := range client1Groups {
		groups[i] = knownvalue.StringExact(g)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: l.providerConfig(`
data "remoteaccess_device" "client1" {
  computer_name = "client1"
}
data "remoteaccess_device" "client10" {
  computer_name = "CLIENT10"
}
data "remoteaccess_device" "client2" {
  computer_name = "CLIENT2"
}
data "remoteaccess_user" "carol" {
  user_name = "carol@corp.example"
}
`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("distinguished_name"), knownvalue.StringExact(client1DN)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("object_guid"), knownvalue.StringExact(client1GUID)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("object_sid"), knownvalue.StringRegexp(regexp.MustCompile(`^S-1-5-21-\d+-\d+-\d+-\d+$`))),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("dns_host_name"), knownvalue.StringExact("client1.corp.example")),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("enabled"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("blocked"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("member_of"), knownvalue.SetExact(groups)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client1", tfjsonpath.New("identities"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact(`CORP\CLIENT1$`), knownvalue.StringExact(`CLIENT1$@corp.example`), knownvalue.StringExact("client1.corp.example"),
					})),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client10", tfjsonpath.New("enabled"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client10", tfjsonpath.New("blocked"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client2", tfjsonpath.New("enabled"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.remoteaccess_device.client2", tfjsonpath.New("blocked"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.remoteaccess_user.carol", tfjsonpath.New("distinguished_name"), knownvalue.StringExact(carolDN)),
					statecheck.ExpectKnownValue("data.remoteaccess_user.carol", tfjsonpath.New("object_guid"), knownvalue.StringExact(carolGUID)),
					statecheck.ExpectKnownValue("data.remoteaccess_user.carol", tfjsonpath.New("sam_account_name"), knownvalue.StringExact("carol")),
					statecheck.ExpectKnownValue("data.remoteaccess_user.carol", tfjsonpath.New("display_name"), knownvalue.StringExact("Carol Carter")),
					statecheck.ExpectKnownValue("data.remoteaccess_user.carol", tfjsonpath.New("enabled"), knownvalue.Bool(false)),
					statecheck.ExpectKnownValue("data.remoteaccess_user.carol", tfjsonpath.New("blocked"), knownvalue.Bool(false)),
				},
			},
		},
	})
}

func TestAccDeviceAndUser_refusals(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      l.providerConfig(`data "remoteaccess_device" "x" { computer_name = "NOSUCH1" }`),
				ExpectError: regexp.MustCompile(`No computer named "NOSUCH1"`),
			},
			{
				Config:      l.providerConfig(`data "remoteaccess_user" "x" { user_name = "CORP\\carol" }`),
				ExpectError: regexp.MustCompile(`down-level logon name`),
			},
		},
	})
}
