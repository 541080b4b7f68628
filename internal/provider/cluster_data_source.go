package provider

import (
	"cmp"
	"context"
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
			"state": computed("The node's load-balancer state (`Converged`, `Draining`, `Stopped`, `Suspended`, ...), as " +
				"Windows prints it; null when its interfaces disagree (see `interfaces`)."),
			"in_rotation": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether the node takes new " +
				"connections: every interface's state begins with `Converged`."},
			"host_priority": schema.Int64Attribute{Computed: true, MarkdownDescription: "The node's NLB host priority."},
			"interfaces": schema.ListNestedAttribute{
				Computed: true,
				MarkdownDescription: "The node's state on each interface NLB is bound to: a Remote Access cluster can " +
					"balance its internal and its external interface, and a node can be in a different state on each.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"interface": computed("The interface's name; null when the server does not name it."),
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
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	read := startServerRead(ctx, d.clients, &m.serverReadModel, &resp.Diagnostics)
	if read == nil {
		return
	}
	// Both questions at once, so that a server that hangs until the deadline leaves the other question of every
	// server the whole read timeout too.
	var views map[string][]remoteaccess.Node
	var nodesErr error
	var wg sync.WaitGroup
	wg.Go(func() { views, nodesErr = read.cluster.GetNodes(read.ctx) })
	conns, connsErr := read.cluster.GetConnections(read.ctx, remoteaccess.ConnectionFilter{})
	wg.Wait()
	read.finish(&m.serverReadModel, "the cluster", &resp.Diagnostics, nodesErr, connsErr)
	if resp.Diagnostics.HasError() {
		return
	}
	m.Nodes = clusterNodes(read.cluster.Servers(), views, conns)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// clusterNodes merges the servers' views of the cluster: each server lists every node (is_local marks itself). A
// node's row comes from its own view when it answered, since a node knows its own state first, otherwise from the
// first server (in name order) that answered.
func clusterNodes(servers []string, views map[string][]remoteaccess.Node, conns map[string][]remoteaccess.Connection) []nodeRow {
	self := map[string]string{} // node name, upper case -> the server that is this node
	var names []string
	for _, server := range servers {
		for _, n := range views[server] {
			key := strings.ToUpper(n.Name)
			if n.IsLocal {
				self[key] = server
			}
			if !slices.Contains(names, key) {
				names = append(names, key)
			}
		}
	}
	rows := []nodeRow{}
	for _, key := range names {
		reporter, ok := self[key]
		if !ok {
			reporter = firstReporter(servers, views, key)
		}
		row := nodeRow{Server: types.StringNull(), ReportedBy: types.StringValue(reporter),
			Connections: types.Int64Null(), DirectAccessConnections: types.Int64Null(), VPNConnections: types.Int64Null()}
		for _, n := range views[reporter] {
			if strings.ToUpper(n.Name) == key {
				row.Name, row.HostPriority = types.StringValue(n.Name), types.Int64Value(int64(n.HostPriority))
				row.Interfaces = append(row.Interfaces, interfaceRow{Interface: optionalString(nodeInterface(n)), State: types.StringValue(string(n.State))})
			}
		}
		row.State, row.InRotation = nodeState(row.Interfaces)
		if server, ok := self[key]; ok {
			row.Server = types.StringValue(server)
			if list, answered := conns[server]; answered {
				row.setConnections(list)
			}
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b nodeRow) int {
		return cmp.Or(cmp.Compare(a.HostPriority.ValueInt64(), b.HostPriority.ValueInt64()), strings.Compare(a.Name.ValueString(), b.Name.ValueString()))
	})
	return rows
}

// firstReporter is the first server, in name order, whose view lists the node.
func firstReporter(servers []string, views map[string][]remoteaccess.Node, key string) string {
	for _, server := range servers {
		if slices.ContainsFunc(views[server], func(n remoteaccess.Node) bool { return strings.ToUpper(n.Name) == key }) {
			return server
		}
	}
	return ""
}

// nodeInterface is the interface a node entry describes; get-nodes does not name interfaces yet, so every entry is
// the node as a whole.
func nodeInterface(remoteaccess.Node) string { return "" }

// nodeState is the state the interfaces share (null when they differ) and whether the node is in rotation on every
// one. FACTS part 5: states such as Converged(default) exist, so states compare by prefix.
func nodeState(interfaces []interfaceRow) (types.String, types.Bool) {
	state := types.StringNull()
	inRotation := len(interfaces) > 0
	for i, itf := range interfaces {
		s := itf.State.ValueString()
		if i == 0 {
			state = types.StringValue(s)
		} else if s != state.ValueString() {
			state = types.StringNull()
		}
		inRotation = inRotation && strings.HasPrefix(s, string(remoteaccess.NodeConverged))
	}
	return state, types.BoolValue(inRotation)
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
