package provider

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// No CLI here runs `terraform query` (Terraform 1.14 only), so the list resources are driven through the provider's
// protocol server, as Terraform would drive them.

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

// configuredServer is the provider's protocol server, configured for the lab's servers and directory.
func configuredServer(t *testing.T, l *testLab) tfprotov6.ProviderServer {
	t.Helper()
	server, _ := labProviderServer(t, l, true, true)
	return server
}

// listDisabled runs one list request and returns the display names and the decoded identities' object GUIDs.
func listDisabled(t *testing.T, server tfprotov6.ProviderServer, typeName string, includeResource bool, limit int64) (names, guids []string, resources []map[string]tftypes.Value) {
	t.Helper()
	ctx := context.Background()
	schema, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	configType := schema.ListResourceSchemas[typeName].ValueType()
	config, err := tfprotov6.NewDynamicValue(configType, tftypes.NewValue(configType, map[string]tftypes.Value{
		"base": tftypes.NewValue(tftypes.String, nil),
	}))
	if err != nil {
		t.Fatal(err)
	}
	lister, ok := server.(tfprotov6.ListResourceServer)
	if !ok {
		t.Fatal("the provider server does not serve list resources")
	}
	stream, err := lister.ListResource(ctx, &tfprotov6.ListResourceRequest{
		TypeName: typeName, Config: &config, IncludeResource: includeResource, Limit: limit,
	})
	if err != nil {
		t.Fatal(err)
	}
	identityType := schema.ResourceSchemas[typeName].ValueType() // only for the resource objects
	identitySchemas, err := server.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil {
		t.Fatal(err)
	}
	idType := identitySchemas.IdentitySchemas[typeName].ValueType()
	for result := range stream.Results {
		for _, d := range result.Diagnostics {
			if d.Severity == tfprotov6.DiagnosticSeverityError {
				t.Fatalf("list %s: %s: %s", typeName, d.Summary, d.Detail)
			}
		}
		names = append(names, result.DisplayName)
		id, err := result.Identity.IdentityData.Unmarshal(idType)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]tftypes.Value
		if err := id.As(&fields); err != nil {
			t.Fatal(err)
		}
		var guid string
		if err := fields["object_guid"].As(&guid); err != nil {
			t.Fatal(err)
		}
		guids = append(guids, guid)
		if includeResource {
			v, err := result.Resource.Unmarshal(identityType)
			if err != nil {
				t.Fatal(err)
			}
			var attrs map[string]tftypes.Value
			if err := v.As(&attrs); err != nil {
				t.Fatal(err)
			}
			resources = append(resources, attrs)
		}
	}
	return names, guids, resources
}

func TestListBlockedDevices_findsBlocksMadeByHand(t *testing.T) {
	l := startLab(t)
	// An administrator disabled CLIENT10 by hand; RETIRED1 is disabled in the seed.
	l.setEnabled(t, "CLIENT10$", false)
	server := configuredServer(t, l)

	names, guids, resources := listDisabled(t, server, "remoteaccess_blocked_device", true, 0)
	slices.Sort(names)
	if want := []string{"CLIENT10", "RETIRED1"}; !slices.Equal(names, want) {
		t.Fatalf("listed %q, want the disabled computers %q (and no enabled one, no domain controller)", names, want)
	}
	for i, attrs := range resources {
		var guid, name string
		var wasEnabled, enabled bool
		_ = attrs["object_guid"].As(&guid)
		_ = attrs["computer_name"].As(&name)
		_ = attrs["was_enabled"].As(&wasEnabled)
		_ = attrs["account_enabled"].As(&enabled)
		if guid != guids[i] || !isBareGUID(guid) {
			t.Errorf("resource %s has object_guid %q, identity says %q", name, guid, guids[i])
		}
		if wasEnabled || enabled {
			t.Errorf("resource %s: was_enabled=%v account_enabled=%v, want false and false for a discovered block", name, wasEnabled, enabled)
		}
	}

	limited, _, _ := listDisabled(t, server, "remoteaccess_blocked_device", false, 1)
	if len(limited) != 1 {
		t.Errorf("a limit of 1 returned %d results", len(limited))
	}
}

func TestListBlockedUsers_leavesOutCriticalAccounts(t *testing.T) {
	l := startLab(t)
	server := configuredServer(t, l)
	names, _, _ := listDisabled(t, server, "remoteaccess_blocked_user", false, 0)
	// carol is disabled in the seed; krbtgt is disabled too but is a critical account, never a block.
	if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "carol") }) {
		t.Errorf("listed %q, want carol", names)
	}
	for _, n := range names {
		if n == "krbtgt" {
			t.Errorf("krbtgt listed as a block to import")
		}
	}
}

// isBareGUID is an objectGUID as the provider writes it: without braces.
func isBareGUID(s string) bool { return guidPattern.MatchString(s) }
