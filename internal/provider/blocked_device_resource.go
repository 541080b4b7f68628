package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

type blockedDeviceModel struct {
	blockModel
	ComputerName         types.String `tfsdk:"computer_name"`
	DNSHostName          types.String `tfsdk:"dns_host_name"`
	ShutdownViaManageOut types.Bool   `tfsdk:"shutdown_via_manage_out"`
}

func (m *blockedDeviceModel) common() *blockModel       { return &m.blockModel }
func (m *blockedDeviceModel) accountName() types.String { return m.ComputerName }
func (m *blockedDeviceModel) shutdownViaManageOut() bool {
	return m.ShutdownViaManageOut.ValueBool()
}

func (m *blockedDeviceModel) accountValues(acct directory.Account) map[string]attr.Value {
	return map[string]attr.Value{"dns_host_name": types.StringValue(acct.DNSHostName)}
}

func (m *blockedDeviceModel) setAccount(acct directory.Account) {
	m.DNSHostName = types.StringValue(acct.DNSHostName)
	if m.ComputerName.IsNull() || m.ComputerName.IsUnknown() {
		m.ComputerName = types.StringValue(acct.Name())
	}
}

func (m *blockedDeviceModel) setImportDefaults() {
	m.ShutdownViaManageOut = types.BoolValue(false)
}

func newBlockedDeviceResource() resource.Resource { return newBlockedDevice() }

func newBlockedDeviceListResource() list.ListResource { return newBlockedDevice() }

func newBlockedDevice() *blockResource[blockedDeviceModel, *blockedDeviceModel] {
	return &blockResource[blockedDeviceModel, *blockedDeviceModel]{kind: blockKind{
		typeSuffix: "blocked_device",
		kind:       directory.KindComputer,
		nameAttr:   "computer_name",
		noun:       "computer",
		description: "Blocks a lost or stolen device: disables its computer account in Active Directory, then purges its " +
			"IPsec main-mode and quick-mode security associations and its VPN device tunnels on every Remote Access server, " +
			"matching the device's exact identities. Destroying the block re-enables the account only if it was enabled " +
			"before. An out-of-band re-enable shows as drift and the next apply blocks again.",
		nameSchema: schema.StringAttribute{
			Required:   true,
			Validators: []validator.String{accountNameValidator{kind: directory.KindComputer}},
			MarkdownDescription: "Computer name of the device: its sAMAccountName without the trailing `$`, such as " +
				"`LAPTOP-0042`. Another spelling of the same account (letter case, a trailing `$`) changes nothing; a name " +
				"of another account replaces the block.",
		},
		extra: map[string]schema.Attribute{
			"dns_host_name": schema.StringAttribute{
				Computed: true, PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
				MarkdownDescription: "dNSHostName of the computer account.",
			},
			"shutdown_via_manage_out": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Before the purge, send `Stop-Computer -Force` to the device through a Remote Access " +
					"server's manage-out path, so that a device still connected powers off. Defaults to `false`.",
			},
		},
	}}
}
