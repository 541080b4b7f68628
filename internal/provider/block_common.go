package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

const (
	defaultVerifySeconds = 30
	maxVerifySeconds     = 3600
	verifyPollInterval   = time.Second
)

// blockModel holds the attributes that remoteaccess_blocked_device and remoteaccess_blocked_user share.
type blockModel struct {
	ID                types.String   `tfsdk:"id"`
	Reason            types.String   `tfsdk:"reason"`
	PurgeSessions     types.Bool     `tfsdk:"purge_sessions"`
	VerifySeconds     types.Int64    `tfsdk:"verify_seconds"`
	Servers           types.List     `tfsdk:"servers"`
	DistinguishedName types.String   `tfsdk:"distinguished_name"`
	ObjectGUID        types.String   `tfsdk:"object_guid"`
	ObjectSID         types.String   `tfsdk:"object_sid"`
	WasEnabled        types.Bool     `tfsdk:"was_enabled"`
	AccountEnabled    types.Bool     `tfsdk:"account_enabled"`
	BlockedAt         types.String   `tfsdk:"blocked_at"`
	Identities        types.List     `tfsdk:"identities"`
	Purged            types.Map      `tfsdk:"purged"`
	PendingServers    types.List     `tfsdk:"pending_servers"`
	HoldID            types.String   `tfsdk:"hold_id"`
	Ticket            types.String   `tfsdk:"ticket"`
	AllowPrivileged   types.Bool     `tfsdk:"allow_privileged"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

// blockState is implemented by the models of the two block resources.
type blockState interface {
	common() *blockModel
	// accountName is the name the user configured.
	accountName() types.String
	// setAccount copies the kind-specific attributes of the account into the model.
	setAccount(directory.Account)
	// shutdownViaManageOut is the device's manage-out shutdown option; always false for users.
	shutdownViaManageOut() bool
	// setImportDefaults sets the kind-specific defaults of an imported block.
	setImportDefaults()
	// accountValues are the kind-specific attributes that setAccount sets from the account, by name.
	accountValues(directory.Account) map[string]attr.Value
	// certificates is the device's certificate lever; nil for users.
	certificates() *certificateLever
	// dialIn is the user's dial-in lever; nil for devices.
	dialIn() *dialInLever
	// account is the account lever (disable_account).
	account() *accountLever
}

// blockKind is what differs between the two block resources, for the helpers they share.
type blockKind struct {
	typeSuffix string
	kind       directory.Kind
	nameAttr   string
	noun       string
	// newModel returns an empty model of the resource.
	newModel func() blockState
}

type blockIdentityModel struct {
	ObjectGUID types.String `tfsdk:"object_guid"`
}

// blockOps are the helpers both block resources call; they hold no Terraform interface of their own.
type blockOps struct {
	kind    blockKind
	clients *clients
}

var purgedType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"main_mode_sas":   types.Int64Type,
	"quick_mode_sas":  types.Int64Type,
	"vpn_connections": types.Int64Type,
}}

// nameAttr is the attribute that names the account: guard refusals point at it.
func (o *blockOps) nameAttr() path.Path { return path.Root(o.kind.nameAttr) }

// directoryHook lets a test stand between the blocks and the directory (a lost reply); the identity otherwise.
var directoryHook = func(d block.Directory) block.Directory { return d }

// blocker builds the orchestration over the provider's clients.
func (o *blockOps) blocker(diags *diag.Diagnostics) *block.Blocker {
	if o.clients == nil {
		diags.AddError("Provider not configured", "The provider configuration is not known yet.")
		return nil
	}
	dir, err := o.clients.Directory()
	if err != nil {
		diags.AddError("Active Directory is not configured", err.Error())
		return nil
	}
	return &block.Blocker{
		Directory: directoryHook(dir),
		Cluster:   o.clients.Cluster,
		Verify:    o.clients.verify,
		Progress:  func(ctx context.Context, msg string, fields map[string]any) { tflog.Info(ctx, msg, fields) },
	}
}

func (o *blockOps) directory() (*directory.Client, error) {
	if o.clients == nil {
		return nil, fmt.Errorf("the provider is not configured yet")
	}
	return o.clients.Directory()
}

// servers is the resource's server list, or the provider's.
func (o *blockOps) servers(ctx context.Context, m *blockModel, diags *diag.Diagnostics) []string {
	var servers []string
	if !m.Servers.IsNull() && !m.Servers.IsUnknown() {
		diags.Append(m.Servers.ElementsAs(ctx, &servers, false)...)
	}
	if len(servers) == 0 {
		servers = o.clients.settings.Servers
	}
	return servers
}

// guard is what protects accounts in this block: the Remote Access servers of the operation however they are
// named, the provider's protected_computers and own accounts (in the directory client), and privileged accounts
// unless allow_privileged. A device block whose servers include an address that neither DNS nor protected_computers
// names is refused, on the attribute that names the account.
func (o *blockOps) guard(ctx context.Context, m *blockModel, diags *diag.Diagnostics) directory.GuardOptions {
	servers := o.servers(ctx, m, diags)
	protected, unresolved := o.clients.protection(ctx, servers)
	if o.kind.kind == directory.KindComputer && len(unresolved) > 0 {
		diags.AddAttributeError(o.nameAttr(), "Cannot tell which computer accounts are the Remote Access servers",
			fmt.Sprintf("servers lists %s by IP address, and DNS has no name for that address, so the provider cannot make "+
				"sure that this block does not disable a Remote Access server. Name each such server in the provider's "+
				"protected_computers as ADDRESS=NAME (such as \"%s=RAS1\"), or list the servers by name.",
				strings.Join(unresolved, ", "), unresolved[0]))
	}
	return directory.GuardOptions{AllowPrivileged: m.AllowPrivileged.ValueBool(), Protected: protected}
}

// options are what the block does, from the configuration; hold is this block's hold id.
func (o *blockOps) options(ctx context.Context, state blockState, hold string, diags *diag.Diagnostics) block.Options {
	m := state.common()
	servers := o.servers(ctx, m, diags)
	purge := m.PurgeSessions.ValueBool()
	if purge && len(servers) == 0 {
		diags.AddAttributeError(path.Root("servers"), "No Remote Access server to purge",
			"purge_sessions is true but neither the resource nor the provider lists servers; set servers, or purge_sessions = false.")
	}
	reason := holdReason(m.Reason.ValueString(), m.Ticket.ValueString())
	certificates := o.certificateOptions(ctx, state.certificates(), diags)
	rec := directory.Hold{ID: hold, Since: time.Now().UTC(), By: o.clients.settings.LDAP.BindUsername, Reason: reason,
		KeepsEnabled: !state.account().disables()}
	if d := state.dialIn(); d != nil && d.DenyDialIn.ValueBool() {
		rec.DeniesDialIn = true // its line says what the last release of a deny restores (directory.Hold)
	}
	if o.kind.kind == directory.KindComputer && certificates == nil {
		// The record says that this block holds no certificate of the device, so that a certificate-holding block
		// released before it takes its certificates off hold. A block with certificate_hold leaves it unknown until its
		// hold is done (block.Blocker records it then).
		rec.Certificates = []string{}
	}
	return block.Options{
		Servers:              servers,
		Purge:                purge,
		ShutdownViaManageOut: state.shutdownViaManageOut(),
		ShutdownCredential:   o.shutdownCredential(state, diags),
		Verify:               time.Duration(m.VerifySeconds.ValueInt64()) * time.Second,
		WaitVisible:          len(o.clients.settings.LDAP.DomainControllers) > 0,
		Hold:                 rec,
		Record:               o.clients.settings.LDAP.RecordBlocks,
		Guard:                o.guard(ctx, m, diags),
		Certificates:         certificates,
	}
}

// holdReason is the reason a block writes in its hold line of the account's block record: the ticket in brackets,
// then the reason.
func holdReason(reason, ticket string) string {
	if ticket == "" {
		return reason
	}
	return strings.TrimSpace("[" + ticket + "] " + reason)
}

// shutdownCredential is the credential Stop-Computer needs to reach the device: the command runs in a WinRM session,
// so the device is a second hop, which Windows refuses with the session's own logon. The WinRM account's password
// is passed explicitly, in the script's JSON input; with a keytab there is none to pass.
func (o *blockOps) shutdownCredential(state blockState, diags *diag.Diagnostics) *remoteaccess.Credential {
	if !state.shutdownViaManageOut() {
		return nil
	}
	w := o.clients.settings.WinRM
	if w.Password == "" {
		diags.AddAttributeError(path.Root("shutdown_via_manage_out"), "Manage-out shutdown needs the WinRM password",
			"Stop-Computer runs in the WinRM session on a Remote Access server and reaches the device on a second hop, which "+
				"Windows refuses unless a credential is passed explicitly. The provider passes the WinRM account's password "+
				"(winrm.password), and there is none with a Kerberos keytab. Set winrm.password, or shutdown_via_manage_out = false.")
		return nil
	}
	return &remoteaccess.Credential{UserName: w.Username, Password: w.Password}
}

// newHoldID returns a random identifier for a block's entry in the account's block record.
func newHoldID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// stringList is a known list of strings, empty rather than null.
func stringList(ctx context.Context, values []string, diags *diag.Diagnostics) types.List {
	if values == nil {
		values = []string{}
	}
	l, d := types.ListValueFrom(ctx, types.StringType, values)
	diags.Append(d...)
	return l
}

// setAccount copies the account into the model.
func setAccount(state blockState, acct directory.Account) {
	m := state.common()
	m.ID = types.StringValue(acct.ObjectGUID)
	m.ObjectGUID = types.StringValue(acct.ObjectGUID)
	m.ObjectSID = types.StringValue(acct.ObjectSID)
	m.DistinguishedName = types.StringValue(acct.DN)
	m.AccountEnabled = types.BoolValue(acct.Enabled())
	state.setAccount(acct)
}

// accountValues are the attributes that follow the account in the directory, by name: what setAccount sets, but
// for the account name, which the configuration decides.
func (o *blockOps) accountValues(acct directory.Account) map[string]attr.Value {
	values := o.kind.newModel().accountValues(acct)
	values["id"] = types.StringValue(acct.ObjectGUID)
	values["object_guid"] = types.StringValue(acct.ObjectGUID)
	values["object_sid"] = types.StringValue(acct.ObjectSID)
	values["distinguished_name"] = types.StringValue(acct.DN)
	values["account_enabled"] = types.BoolValue(acct.Enabled())
	return values
}
