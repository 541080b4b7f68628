package provider

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

var _ datasource.DataSourceWithConfigure = (*clusterDataSource)(nil)

// clusterDataSource shows the NLB nodes of the Remote Access cluster, their load-balancer state and their load.
type clusterDataSource struct {
	dataSourceClients
}

type clusterModel struct {
	serverReadModel
	Nodes []nodeRow `tfsdk:"nodes"`
}

type nodeRow struct {
	Name                    types.String   `tfsdk:"name"`
	Server                  types.String   `tfsdk:"server"`
	ReportedBy              types.String   `tfsdk:"reported_by"`
	State                   types.String   `tfsdk:"state"`
	InRotation              types.Bool     `tfsdk:"in_rotation"`
	HostPriority            types.Int64    `tfsdk:"host_priority"`
	Interfaces              []interfaceRow `tfsdk:"interfaces"`
	Connections             types.Int64    `tfsdk:"connections"`
	DirectAccessConnections types.Int64    `tfsdk:"directaccess_connections"`
	VPNConnections          types.Int64    `tfsdk:"vpn_connections"`
}

type interfaceRow struct {
	Interface types.String `tfsdk:"interface"`
	State     types.String `tfsdk:"state"`
}

func newClusterDataSource() datasource.DataSource { return &clusterDataSource{} }

func (d *clusterDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_cluster"
}

func (d *clusterDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	computed := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	count := func(description string) schema.Int64Attribute {
		return schema.Int64Attribute{Computed: true, MarkdownDescription: description +
			" Null when the node is not one of the servers asked, or did not answer."}
	}
	attrs := serverReadAttributes("the cluster")
	attrs["nodes"] = schema.ListNestedAttribute{
		Computed:            true,
		MarkdownDescription: "The nodes of the NLB cluster, by host priority.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"name":   computed("The node's name in the cluster (its computer name)."),
			"server": computed("The server, as the provider names it, that is this node; null when it was not asked or did not answer."),
			"reported_by": computed("The server whose view of the cluster this row shows: the node itself when it " +
				"answered, otherwise the first server that did."),
			"state": computed("The node's load-balancer state as Windows prints it (`Converged`, `Converged(default)`, " +
				"`Draining`, `Stopped`, `Suspended`, ...) when every interface agrees, else `INTERFACE: STATE` pairs."),
			"in_rotation": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether NLB gives the node new " +
				"connections: its state begins with `Converged` on every interface."},
			"host_priority": schema.Int64Attribute{Computed: true, MarkdownDescription: "The node's NLB host priority."},
			"interfaces": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "The node's state on each interface NLB is bound to: a Remote Access cluster can " +
					"balance its internal and its external interface, and a node can be in a different state on each.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"interface": computed("The interface's name."),
					"state":     computed("The node's state on that interface."),
				}},
			},
			"connections":              count("The DirectAccess clients and VPN connections the node carries."),
			"directaccess_connections": count("The DirectAccess clients the node carries."),
			"vpn_connections":          count("The VPN connections the node carries."),
		}},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "The NLB nodes of the Remote Access cluster with their load-balancer state " +
			"(`Get-NlbClusterNode`) and the connections each carries (`Get-RemoteAccessConnectionStatistics`), " +
			"from every server at once.",
		Attributes: attrs,
		Blocks:     serverReadBlocks(ctx),
	}
}

func (d *clusterDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m clusterModel
	read := startServerRead(ctx, d.clients, req.Config, &m, &m.serverReadModel, &resp.Diagnostics)
	if read == nil {
		return
	}
	// Both questions at once, so that a server that hangs until the deadline leaves the other question of every
	// server the whole read timeout too.
	var topology remoteaccess.Topology
	var nodesErr error
	var wg sync.WaitGroup
	wg.Go(func() { topology, nodesErr = read.cluster.Topology(read.ctx) })
	conns, connsErr := read.cluster.GetConnections(read.ctx, remoteaccess.ConnectionFilter{})
	wg.Wait()
	read.finish(&m.serverReadModel, "the cluster", &resp.Diagnostics, nodesErr, connsErr)
	if resp.Diagnostics.HasError() {
		return
	}
	m.Nodes = clusterNodes(topology, conns)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// clusterNodes turns the cluster's topology (remoteaccess.Topology: each node as its own server sees it when that
// server answered, else as the first server in name order that did) into rows, with the connections each node's
// server carries.
func clusterNodes(topology remoteaccess.Topology, conns map[string][]remoteaccess.Connection) []nodeRow {
	servers := slices.Sorted(maps.Keys(topology.Local))
	rows := []nodeRow{}
	for _, n := range topology.Nodes {
		row := nodeRow{
			Name: types.StringValue(n.Name), Server: types.StringNull(), State: types.StringValue(n.State()),
			InRotation: types.BoolValue(n.InRotation()), Interfaces: []interfaceRow{},
			Connections: types.Int64Null(), DirectAccessConnections: types.Int64Null(), VPNConnections: types.Int64Null(),
		}
		if len(n.Interfaces) > 0 {
			row.HostPriority = types.Int64Value(int64(n.Interfaces[0].HostPriority))
		}
		for _, itf := range n.Interfaces {
			row.Interfaces = append(row.Interfaces, interfaceRow{Interface: optionalString(itf.InterfaceName), State: types.StringValue(string(itf.State))})
		}
		if len(servers) > 0 {
			row.ReportedBy = types.StringValue(servers[0])
		}
		for _, server := range servers {
			if strings.EqualFold(topology.Local[server], n.Name) {
				row.Server, row.ReportedBy = types.StringValue(server), types.StringValue(server)
				if list, answered := conns[server]; answered {
					row.setConnections(list)
				}
			}
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b nodeRow) int {
		return cmp.Or(cmp.Compare(a.HostPriority.ValueInt64(), b.HostPriority.ValueInt64()), strings.Compare(a.Name.ValueString(), b.Name.ValueString()))
	})
	return rows
}

func (r *nodeRow) setConnections(list []remoteaccess.Connection) {
	var da, vpn int64
	for _, c := range list {
		switch {
		case strings.EqualFold(c.ConnectionType, "DirectAccess"):
			da++
		case strings.EqualFold(c.ConnectionType, "Vpn"):
			vpn++
		}
	}
	r.Connections = types.Int64Value(int64(len(list)))
	r.DirectAccessConnections, r.VPNConnections = types.Int64Value(da), types.Int64Value(vpn)
}
