package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

var _ datasource.DataSourceWithConfigure = (*serversDataSource)(nil)

// serversDataSource is the readiness read: what the provider relies on, asked of every server, with a verdict.
type serversDataSource struct {
	dataSourceClients
}

type serversModel struct {
	serverReadModel
	NotReady  types.List       `tfsdk:"not_ready_servers"`
	Readiness []serverReadyRow `tfsdk:"readiness"`
}

type serverReadyRow struct {
	Server                   types.String `tfsdk:"server"`
	ComputerName             types.String `tfsdk:"computer_name"`
	Verdict                  types.String `tfsdk:"verdict"`
	Findings                 []findingRow `tfsdk:"findings"`
	WindowsBuild             types.Int64  `tfsdk:"windows_build"`
	WindowsVersion           types.String `tfsdk:"windows_version"`
	LanguageMode             types.String `tfsdk:"language_mode"`
	DirectAccess             types.String `tfsdk:"directaccess_status"`
	VPN                      types.String `tfsdk:"vpn_status"`
	LoadBalancing            types.String `tfsdk:"load_balancing_status"`
	DirectAccessAuth         types.Map    `tfsdk:"directaccess_authentication"`
	NLBClusters              types.List   `tfsdk:"nlb_clusters"`
	NLBInterfaces            types.List   `tfsdk:"nlb_interfaces"`
	SAIdentityShape          types.String `tfsdk:"sa_identity_shape"`
	SAIdentitySample         types.String `tfsdk:"sa_identity_sample"`
	MaxShellsPerUser         types.String `tfsdk:"winrm_max_shells_per_user"`
	MaxOperationsPerUser     types.String `tfsdk:"winrm_max_concurrent_operations_per_user"`
	MaxProcessesPerShell     types.String `tfsdk:"winrm_max_processes_per_shell"`
	AllowRemoteShellAccess   types.String `tfsdk:"winrm_allow_remote_shell_access"`
	CbtHardeningLevel        types.String `tfsdk:"winrm_cbt_hardening_level"`
	ListenerCertExpires      types.String `tfsdk:"winrm_https_certificate_expires"`
	UnavailableCommands      types.List   `tfsdk:"unavailable_commands"`
	IKEv2CertAuthFlags       types.Int64  `tfsdk:"ikev2_cert_auth_flags"`
	IPsecCertValidationLevel types.String `tfsdk:"ipsec_cert_validation_level"`
}

type findingRow struct {
	Code       types.String `tfsdk:"code"`
	Severity   types.String `tfsdk:"severity"`
	Assumption types.String `tfsdk:"assumption"`
	Detail     types.String `tfsdk:"detail"`
	Fix        types.String `tfsdk:"fix"`
}

func newServersDataSource() datasource.DataSource { return &serversDataSource{} }

func (d *serversDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_servers"
}

func (d *serversDataSource) Schema(ctx context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	str := func(description string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: description}
	}
	list := func(description string) schema.ListAttribute {
		return schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: description}
	}
	attrs := serverReadAttributes("the readiness")
	attrs["not_ready_servers"] = list("Servers whose verdict is `not_ready`: every resource's plan refuses them.")
	attrs["readiness"] = schema.ListNestedAttribute{
		Computed:            true,
		MarkdownDescription: "One row per server that answered, in the order of `servers`.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"server":        str("The server, as the provider names it."),
			"computer_name": str("The server's computer name."),
			"verdict": str("`ready`, `warnings` (the provider works; some features do not hold, see `findings`) or " +
				"`not_ready` (the provider's plans refuse the server until the findings of severity `error` are fixed)."),
			"findings": schema.ListNestedAttribute{
				Computed: true, MarkdownDescription: "Each assumption that does not hold, with its fix.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"code":       str("A stable name of the check, such as `language_mode` or `max_shells_per_user`."),
					"severity":   str("`error` (the server is not ready) or `warning`."),
					"assumption": str("What the provider relies on."),
					"detail":     str("What the server answered."),
					"fix":        str("The command or setting that fixes it."),
				}},
			},
			"windows_build":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Windows build number (14393: 2016, 17763: 2019, 20348: 2022, 26100: 2025)."},
			"windows_version": str("Windows version and edition."),
			"language_mode":   str("The WinRM session's PowerShell language mode; the provider needs `FullLanguage`."),
			"directaccess_status": str("DirectAccess as `Get-RemoteAccess` reports it (`Installed`, `Uninstalled`); " +
				"null when not reported."),
			"vpn_status":            str("VPN as `Get-RemoteAccess` reports it; null when not reported."),
			"load_balancing_status": str("Load balancing as `Get-RemoteAccess` reports it; null when not reported."),
			"directaccess_authentication": schema.MapAttribute{Computed: true, ElementType: types.StringType,
				MarkdownDescription: "The authentication properties of `Get-DAServer` (for example `UserAuthentication`)."},
			"nlb_clusters":       list("The NLB clusters of the node, as `NAME (INTERFACE)`: a DirectAccess cluster can have two."),
			"nlb_interfaces":     list("The interfaces NLB is bound to (`Get-NlbClusterNodeNetworkInterface`, NlbBound)."),
			"sa_identity_shape":  str("How the server returns main-mode SA identities: `object`, `string`, `unreadable` or `none` (no SA to look at)."),
			"sa_identity_sample": str("One remote identity, masked (first and last character of each part)."),
			"winrm_max_shells_per_user": str("WinRM MaxShellsPerUser (5 when no policy sets it, on Microsoft's " +
				"configuration page)."),
			"winrm_max_concurrent_operations_per_user": str("WinRM MaxConcurrentOperationsPerUser."),
			"winrm_max_processes_per_shell":            str("WinRM MaxProcessesPerShell."),
			"winrm_allow_remote_shell_access":          str("WinRM AllowRemoteShellAccess: `false` refuses every shell."),
			"winrm_cbt_hardening_level":                str("WinRM CbtHardeningLevel: `Strict` refuses a client without channel binding."),
			"winrm_https_certificate_expires": str("When the certificate of the HTTPS listener expires (RFC 3339); null " +
				"when there is no HTTPS listener or its thumbprint names no certificate."),
			"unavailable_commands": list("Commands the provider uses that the account cannot run there (not " +
				"installed, or not visible in a JEA session)."),
			"ikev2_cert_auth_flags": schema.Int64Attribute{Computed: true, MarkdownDescription: "RRAS IKEv2 " +
				"CertAuthFlags (4 enforces certificate revocation); null when not set."},
			"ipsec_cert_validation_level": str("IPsec CertValidationLevel in force (ActiveStore): `RequireCrlCheck` " +
				"makes DirectAccess check revocation."),
		}},
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Asks every Remote Access server, read-only and in one PowerShell run each, whether what the " +
			"provider relies on holds there: the Windows build, the Remote Access role, NLB, the shape of IPsec " +
			"identities, the WinRM quotas and settings, the language mode, the commands the account may run, and the " +
			"revocation settings; each server gets a verdict and the fix for each failed assumption. Use it in the " +
			"first plan against new servers. The answer is read once per Terraform run and shared with the plans of " +
			"the resources, which refuse a server whose verdict is `not_ready`.",
		Attributes: attrs,
		Blocks:     serverReadBlocks(ctx),
	}
}

func (d *serversDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m serversModel
	read := startServerRead(ctx, d.clients, req.Config, &m, &m.serverReadModel, &resp.Diagnostics)
	if read == nil {
		return
	}
	servers := read.cluster.Servers()
	looks := d.clients.readiness(read.ctx, servers)
	var errs []error
	for _, s := range servers {
		if err := looks[s].err; err != nil {
			errs = append(errs, &remoteaccess.ServerError{Server: s, Err: err})
		}
	}
	read.finish(&m.serverReadModel, "the readiness", &resp.Diagnostics, errors.Join(errs...))
	if resp.Diagnostics.HasError() {
		return
	}
	opts := d.clients.assessOptions()
	m.Readiness = []serverReadyRow{}
	var notReady []string
	for _, s := range servers {
		if looks[s].err != nil {
			continue
		}
		row := readyRow(s, looks[s].ready, opts)
		if row.Verdict.ValueString() == remoteaccess.VerdictNotReady {
			notReady = append(notReady, s)
		}
		m.Readiness = append(m.Readiness, row)
	}
	m.NotReady = namesList(notReady)
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// readyRow turns one server's answer into its row.
func readyRow(server string, r remoteaccess.Readiness, opts remoteaccess.AssessOptions) serverReadyRow {
	verdict, findings := r.Assess(opts)
	row := serverReadyRow{
		Server: types.StringValue(server), ComputerName: optionalString(r.ComputerName), Verdict: types.StringValue(verdict),
		Findings: []findingRow{}, WindowsBuild: types.Int64Null(), WindowsVersion: types.StringNull(),
		LanguageMode:    optionalString(r.LanguageMode),
		DirectAccess:    optionalString(r.RemoteAccess["DAStatus"]),
		VPN:             optionalString(r.RemoteAccess["VpnStatus"]),
		LoadBalancing:   optionalString(loadBalancing(r.RemoteAccess)),
		SAIdentityShape: types.StringNull(), SAIdentitySample: types.StringNull(),
		MaxShellsPerUser: types.StringNull(), MaxOperationsPerUser: types.StringNull(), MaxProcessesPerShell: types.StringNull(),
		AllowRemoteShellAccess: types.StringNull(), CbtHardeningLevel: types.StringNull(), ListenerCertExpires: types.StringNull(),
		UnavailableCommands:      namesList(r.UnavailableCommands()),
		IKEv2CertAuthFlags:       types.Int64Null(),
		IPsecCertValidationLevel: optionalString(r.IPsecCertValidationLevel),
	}
	for _, f := range findings {
		row.Findings = append(row.Findings, findingRow{Code: types.StringValue(f.Code), Severity: types.StringValue(f.Severity),
			Assumption: types.StringValue(f.Assumption), Detail: types.StringValue(f.Detail), Fix: types.StringValue(f.Fix)})
	}
	if w := r.Windows; w != nil {
		row.WindowsBuild = types.Int64Value(int64(w.Build))
		row.WindowsVersion = types.StringValue(strings.TrimSpace(w.Caption + " " + w.Version))
	}
	auth := map[string]string{}
	for k, v := range r.DirectAccessServer {
		if strings.Contains(strings.ToLower(k), "auth") {
			auth[k] = v
		}
	}
	row.DirectAccessAuth, _ = types.MapValueFrom(context.Background(), types.StringType, auth)
	var clusters, interfaces []string
	for _, c := range r.NLBClusters {
		clusters = append(clusters, fmt.Sprintf("%s (%s)", c.Name, c.InterfaceName))
	}
	for _, i := range r.NLBInterfaces {
		if i.NLBBound {
			interfaces = append(interfaces, i.InterfaceName)
		}
	}
	row.NLBClusters, row.NLBInterfaces = namesList(clusters), namesList(interfaces)
	if sa := r.SAIdentity; sa != nil {
		row.SAIdentityShape, row.SAIdentitySample = types.StringValue(sa.Shape), optionalString(sa.Sample)
	}
	if w := r.WinRM; w != nil {
		row.MaxShellsPerUser, row.MaxOperationsPerUser = optionalString(w.MaxShellsPerUser), optionalString(w.MaxConcurrentOperationsPerUser)
		row.MaxProcessesPerShell, row.AllowRemoteShellAccess = optionalString(w.MaxProcessesPerShell), optionalString(w.AllowRemoteShellAccess)
		row.CbtHardeningLevel = optionalString(w.CbtHardeningLevel)
		for _, l := range w.HTTPSListeners {
			if l.Found && l.NotAfter != "" {
				row.ListenerCertExpires = types.StringValue(l.NotAfter)
			}
		}
	}
	if r.IKEv2CertAuthFlags != nil {
		row.IKEv2CertAuthFlags = types.Int64Value(int64(*r.IKEv2CertAuthFlags))
	}
	return row
}

// loadBalancing is Get-RemoteAccess's load-balancing status: the page lists it without naming the property.
func loadBalancing(props map[string]string) string {
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if strings.Contains(strings.ToLower(k), "loadbalanc") && strings.HasSuffix(strings.ToLower(k), "status") {
			return props[k]
		}
	}
	return ""
}

// namesList is a list value of names, empty rather than null.
func namesList(names []string) types.List {
	list, _ := types.ListValueFrom(context.Background(), types.StringType, append([]string{}, names...))
	return list
}
