package provider

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// connectionKey identifies a connection the same way in the lab's model and in a data source row.
func connectionKey(server, kind, host string, users []string, address string) string {
	return strings.Join([]string{server, kind, host, strings.Join(users, "+"), address}, "|")
}

// expectedConnections are the lab model's connections, keyed as rows are, that pass keep.
func (l *testLab) expectedConnections(keep func(kind, host string, users []string) bool) []string {
	snap := l.snapshot()
	var keys []string
	for _, da := range snap.DirectAccess {
		if keep("DirectAccess", da.DNSHostName, da.Users) {
			keys = append(keys, connectionKey(l.serverAddress(da.Server), "DirectAccess", da.DNSHostName, da.Users, da.Address))
		}
	}
	for _, v := range snap.VPN {
		if keep("Vpn", v.HostName, []string{v.UserName}) {
			keys = append(keys, connectionKey(l.serverAddress(v.Server), "Vpn", v.HostName, []string{v.UserName}, v.Address))
		}
	}
	slices.Sort(keys)
	return keys
}

// matchesLab checks that the rows are exactly the lab's connections that pass keep, and that fields a connection
// type lacks are null.
func (l *testLab) matchesLab(keep func(kind, host string, users []string) bool) func([]map[string]any) error {
	return func(rows []map[string]any) error {
		var got []string
		for _, r := range rows {
			host, _ := r["host_name"].(string)
			kind, _ := r["connection_type"].(string)
			server, _ := r["server"].(string)
			address, _ := r["client_ip_address"].(string)
			got = append(got, connectionKey(server, kind, host, strs(r["user_names"]), address))
			if kind == "Vpn" && r["transition_technology"] != nil {
				return fmt.Errorf("VPN row %v has a transition technology", r)
			}
			if kind == "DirectAccess" && r["transition_technology"] == nil {
				return fmt.Errorf("DirectAccess row %v has no transition technology", r)
			}
			if r["host_name"] == "" || r["client_external_address"] == nil {
				return fmt.Errorf("row %v: an empty host name must be null, and every lab connection has an external address", r)
			}
		}
		slices.Sort(got)
		if want := l.expectedConnections(keep); !slices.Equal(got, want) {
			return fmt.Errorf("rows\n  %q\nwant the lab's\n  %q", got, want)
		}
		return nil
	}
}

func everyConnection(string, string, []string) bool { return true }

func TestAccConnections_whoIsConnected(t *testing.T) {
	l := startLab(t)
	var bobAddress string
	for _, v := range l.snapshot().VPN {
		if v.UserName == `CORP\bob` {
			bobAddress = v.Address
		}
	}
	config := l.providerConfig(fmt.Sprintf(`
data "remoteaccess_connections" "all" {}

# A bare name and the DNS form stand for CORP\bob, wherever the servers print him.
data "remoteaccess_connections" "bob" {
  user_name = "bob"
}
data "remoteaccess_connections" "bob_dns" {
  user_name = "corp.example\\bob"
}

# The name alone matches the FQDN's first label, never client10.
data "remoteaccess_connections" "client1" {
  host_name = "client1"
}

data "remoteaccess_connections" "vpn" {
  connection_type = "vpn"
}

data "remoteaccess_connections" "by_address" {
  client_address = %q
}
`, bobAddress))
	isBob := func(_, _ string, users []string) bool { return slices.Contains(users, `CORP\bob`) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigStateChecks: []statecheck.StateCheck{
				checkRows("data.remoteaccess_connections.all", "connections", l.matchesLab(everyConnection)),
				checkRows("data.remoteaccess_connections.bob", "connections", l.matchesLab(isBob)),
				checkRows("data.remoteaccess_connections.bob_dns", "connections", l.matchesLab(isBob)),
				checkRows("data.remoteaccess_connections.vpn", "connections", l.matchesLab(func(kind, _ string, _ []string) bool { return kind == "Vpn" })),
				checkRows("data.remoteaccess_connections.by_address", "connections", l.matchesLab(func(kind, _ string, users []string) bool {
					return kind == "Vpn" && slices.Contains(users, `CORP\bob`)
				})),
				statecheck.ExpectKnownValue("data.remoteaccess_connections.client1", tfjsonpath.New("connections"), knownvalue.ListExact([]knownvalue.Check{
					knownvalue.ObjectPartial(map[string]knownvalue.Check{
						"server":                knownvalue.StringExact(l.serverAddress("RAS1")),
						"host_name":             knownvalue.StringExact("client1.corp.example"),
						"user_names":            knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(`CORP\alice`)}),
						"connection_type":       knownvalue.StringExact("DirectAccess"),
						"transition_technology": knownvalue.StringExact("IPHttps"),
					}),
				})),
				statecheck.ExpectKnownValue("data.remoteaccess_connections.all", tfjsonpath.New("missing_servers"), knownvalue.ListSizeExact(0)),
			},
		}},
	})
}

func TestAccConnections_unreachableServer(t *testing.T) {
	l := startLab(t)
	ras1, ras2 := l.serverAddress("RAS1"), l.serverAddress("RAS2")
	l.breakServer(t, "RAS2")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      l.providerConfig(`data "remoteaccess_connections" "all" {}`),
				ExpectError: regexp.MustCompile(`Remote Access servers did not answer: ` + regexp.QuoteMeta(ras2)),
			},
			{
				Config: l.providerConfig(`
data "remoteaccess_connections" "all" {
  tolerate_unreachable_servers = true
}`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.remoteaccess_connections.all", tfjsonpath.New("missing_servers"),
						knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact(ras2)})),
					checkRows("data.remoteaccess_connections.all", "connections", func(rows []map[string]any) error {
						want := 0
						snap := l.snapshot()
						for _, da := range snap.DirectAccess {
							want += boolInt(da.Server == "RAS1")
						}
						for _, v := range snap.VPN {
							want += boolInt(v.Server == "RAS1")
						}
						for _, r := range rows {
							if r["server"] != ras1 {
								return fmt.Errorf("row from %v, want only %s's", r["server"], ras1)
							}
						}
						if len(rows) != want || want == 0 {
							return fmt.Errorf("%d rows, want RAS1's %d connections", len(rows), want)
						}
						return nil
					}),
				},
			},
		},
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestAccConnections_refusesPatternsAtPlan(t *testing.T) {
	l := startLab(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      l.providerConfig(`data "remoteaccess_connections" "x" { user_name = "CORP\\bob*" }`),
				ExpectError: regexp.MustCompile(`never as patterns`),
			},
			{
				Config:      l.providerConfig(`data "remoteaccess_connections" "x" { client_address = "10.0.0.300" }`),
				ExpectError: regexp.MustCompile(`not an IPv4 or IPv6 address`),
			},
		},
	})
}
