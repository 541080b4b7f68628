package provider

import (
	"cmp"
	"context"
	"net/netip"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

var _ datasource.DataSourceWithConfigure = (*connectionsDataSource)(nil)

// connectionsDataSource lists who is connected: Get-RemoteAccessConnectionStatistics on every server.
type connectionsDataSource struct {
	dataSourceClients
}

type connectionsModel struct {
	serverReadModel
	UserName       types.String    `tfsdk:"user_name"`
	HostName       types.String    `tfsdk:"host_name"`
	ConnectionType types.String    `tfsdk:"connection_type"`
	ClientAddress  types.String    `tfsdk:"client_address"`
	Connections    []connectionRow `tfsdk:"connections"`
}

// connectionRow is one connection. Field availability varies by connection type (internal/lab/WINDOWS.md,
// Connection statistics), so a field the
// server left empty is null rather than "".
type connectionRow struct {
	Server                    types.String `tfsdk:"server"`
	UserNames                 []string     `tfsdk:"user_names"`
	HostName                  types.String `tfsdk:"host_name"`
	ClientIPAddress           types.String `tfsdk:"client_ip_address"`
	ClientIPAddresses         []string     `tfsdk:"client_ip_addresses"`
	ClientExternalAddress     types.String `tfsdk:"client_external_address"`
	ConnectionType            types.String `tfsdk:"connection_type"`
	TunnelType                types.String `tfsdk:"tunnel_type"`
	TransitionTechnology      types.String `tfsdk:"transition_technology"`
	AuthMethod                types.String `tfsdk:"auth_method"`
	ConnectionDurationSeconds types.Int64  `tfsdk:"connection_duration_seconds"`
	ConnectionStartTime       types.String `tfsdk:"connection_start_time"`
	TotalBytesIn              types.Int64  `tfsdk:"total_bytes_in"`
	TotalBytesOut             types.Int64  `tfsdk:"total_bytes_out"`
	UserActivityState         types.String `tfsdk:"user_activity_state"`
}

func newConnectionsDataSource() datasource.DataSource { return &connectionsDataSource{} }

func (d *connectionsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_connections"
}

func (d *connectionsDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	attrs := serverReadAttributes("connections")
	attrs["user_name"] = schema.StringAttribute{
		Optional:            true,
		Validators:          []validator.String{exactNameValidator{field: "user_name"}},
		MarkdownDescription: "Only the connections of this user. " + userNameFormsNote,
	}
	attrs["host_name"] = schema.StringAttribute{
		Optional:   true,
		Validators: []validator.String{exactNameValidator{field: "host_name"}},
		MarkdownDescription: "Only the connections of this computer: its FQDN (`client1.corp.example`), or its name " +
			"alone (`client1`), which matches the FQDN's first label exactly (never `client10`).",
	}
	attrs["connection_type"] = schema.StringAttribute{
		Optional:            true,
		Validators:          []validator.String{stringvalidator.OneOfCaseInsensitive("DirectAccess", "Vpn")},
		MarkdownDescription: "Only `DirectAccess` or only `Vpn` connections.",
	}
	attrs["client_address"] = schema.StringAttribute{
		Optional:   true,
		Validators: []validator.String{ipAddressValidator{}},
		MarkdownDescription: "Only the connection with this tunnel address (`client_ip_addresses`) or external address " +
			"(`client_external_address`), compared as addresses (`2001:DB8::0:1` is `2001:db8::1`).",
	}
	attrs["connections"] = schema.ListNestedAttribute{
		Computed: true,
		MarkdownDescription: "The matching connections of every server, sorted by server. Fields a connection type " +
			"does not have are null.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"server": computed("The Remote Access server that reported the connection, as the provider names it."),
			"user_names": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The users of the connection, as the server prints them (`CORP\\alice`, " +
					"`corp.example\\alice`, a device tunnel's certificate name); empty for a DirectAccess client with no user logged on."},
			"host_name":         computed("The client computer's name; null for VPN user tunnels."),
			"client_ip_address": computed("The (first) tunnel address the server assigned, as one string."),
			"client_ip_addresses": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Every tunnel address of the connection (ClientIPAddress, ClientIPv4Address and " +
					"ClientIPv6Address, flattened into single strings)."},
			"client_external_address":     computed("The client's address on the Internet."),
			"connection_type":             computed("`DirectAccess` or `Vpn`."),
			"tunnel_type":                 computed("The tunnel type: `Ikev2`, `Sstp`, `L2tp` or `Pptp` for VPN, `Esp` for DirectAccess."),
			"transition_technology":       computed("DirectAccess only: `IPHttps`, `Teredo`, `6to4`, `Isatap` or `Native IPv6`."),
			"auth_method":                 computed("The authentication method."),
			"connection_duration_seconds": schema.Int64Attribute{Computed: true, MarkdownDescription: "Seconds since the connection started."},
			"connection_start_time":       computed("When the connection started, in RFC 3339 (UTC)."),
			"total_bytes_in":              schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes received from the client."},
			"total_bytes_out":             schema.Int64Attribute{Computed: true, MarkdownDescription: "Bytes sent to the client."},
			"user_activity_state":         computed("Whether the user is active, as the server reports it."),
		}},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Who is connected: the DirectAccess and VPN connections of every Remote Access server " +
			"(`Get-RemoteAccessConnectionStatistics`), asked at once, each row tagged with its server.",
		Attributes: attrs,
		Blocks:     serverReadBlocks(ctx),
	}
}

func (d *connectionsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m connectionsModel
	read := startServerRead(ctx, d.clients, req.Config, &m, &m.serverReadModel, &resp.Diagnostics)
	if read == nil {
		return
	}
	filter := connectionFilter{hostName: m.HostName.ValueString(), connectionType: m.ConnectionType.ValueString()}
	if a := m.ClientAddress.ValueString(); a != "" {
		filter.address, _ = netip.ParseAddr(a) // checked by the attribute's validator
	}
	if name := m.UserName.ValueString(); name != "" {
		forms, err := userNameForms(read.ctx, d.clients, []string{name})
		if err != nil {
			read.cancel()
			resp.Diagnostics.AddAttributeError(path.Root("user_name"), "Cannot resolve the forms of the user name", err.Error())
			return
		}
		filter.userNames = forms
	}
	results, err := read.cluster.GetConnections(read.ctx, remoteaccess.ConnectionFilter{})
	read.finish(&m.serverReadModel, "connections", &resp.Diagnostics, err)
	if resp.Diagnostics.HasError() {
		return
	}
	m.Connections = []connectionRow{}
	for server, conns := range results {
		for _, c := range conns {
			if filter.match(c) {
				m.Connections = append(m.Connections, newConnectionRow(server, c))
			}
		}
	}
	slices.SortFunc(m.Connections, func(a, b connectionRow) int {
		return cmp.Or(strings.Compare(a.Server.ValueString(), b.Server.ValueString()),
			strings.Compare(a.ConnectionType.ValueString(), b.ConnectionType.ValueString()),
			strings.Compare(a.HostName.ValueString(), b.HostName.ValueString()),
			slices.Compare(a.UserNames, b.UserNames),
			strings.Compare(a.ClientIPAddress.ValueString(), b.ClientIPAddress.ValueString()))
	})
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

func newConnectionRow(server string, c remoteaccess.Connection) connectionRow {
	return connectionRow{
		Server:                    types.StringValue(server),
		UserNames:                 nonNil(c.UserNames),
		HostName:                  optionalString(c.HostName),
		ClientIPAddress:           optionalString(c.ClientIPAddress),
		ClientIPAddresses:         nonNil(c.ClientIPAddresses),
		ClientExternalAddress:     optionalString(c.ClientExternalAddress),
		ConnectionType:            optionalString(c.ConnectionType),
		TunnelType:                optionalString(c.TunnelType),
		TransitionTechnology:      optionalString(c.TransitionTechnology),
		AuthMethod:                optionalString(c.AuthMethod),
		ConnectionDurationSeconds: types.Int64Value(c.ConnectionDurationSeconds),
		ConnectionStartTime:       optionalString(c.ConnectionStartTime),
		TotalBytesIn:              types.Int64Value(c.TotalBytesIn),
		TotalBytesOut:             types.Int64Value(c.TotalBytesOut),
		UserActivityState:         optionalString(c.UserActivityState),
	}
}

// nonNil drops empty strings and makes an absent list an empty one.
func nonNil(values []string) []string {
	out := []string{}
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// optionalString is null for what a server left empty.
func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// connectionFilter selects connections; every comparison is exact and case-insensitive, never a pattern.
type connectionFilter struct {
	userNames      []string // every form of one user name; none selects every user
	hostName       string
	connectionType string
	address        netip.Addr
}

func (f connectionFilter) match(c remoteaccess.Connection) bool {
	if len(f.userNames) > 0 && !slices.ContainsFunc(c.UserNames, func(u string) bool {
		return slices.ContainsFunc(f.userNames, func(want string) bool { return strings.EqualFold(u, want) })
	}) {
		return false
	}
	if f.hostName != "" && !sameHost(c.HostName, f.hostName) {
		return false
	}
	if f.connectionType != "" && !strings.EqualFold(c.ConnectionType, f.connectionType) {
		return false
	}
	if f.address.IsValid() && !slices.ContainsFunc(append(slices.Clone(c.ClientIPAddresses), c.ClientIPAddress, c.ClientExternalAddress),
		func(a string) bool { return sameAddress(a, f.address) }) {
		return false
	}
	return true
}

// sameHost matches a host name exactly, or a name without a domain against the FQDN's first label: "client1"
// matches client1.corp.example, never client10.corp.example.
func sameHost(hostName, want string) bool {
	if strings.EqualFold(hostName, want) {
		return true
	}
	label, _, found := strings.Cut(hostName, ".")
	return found && !strings.Contains(want, ".") && strings.EqualFold(label, want)
}

func sameAddress(s string, want netip.Addr) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Unmap() == want.Unmap()
}
