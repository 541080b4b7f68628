package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// hostValidator accepts a DNS name or an IP address, as the provider's servers list does.
type hostValidator struct{}

func (hostValidator) Description(context.Context) string {
	return "must be a DNS name or an IP address, without a port"
}

func (v hostValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (hostValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := checkHost(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid server name", err.Error()+".")
	}
}

// maxTicketLength bounds a block's ticket, an identifier or a link: the ticket goes first in the reason that the
// account's block record keeps (directory.MaxReasonInRecord), so a longer one would leave no room for the reason.
const maxTicketLength = 128

// recordedReasonValidator warns, on a block's reason, when the account's block record will keep it shortened: the
// record keeps the ticket and the reason together ("[ticket] reason") in at most directory.MaxReasonInRecord UTF-16
// code units. The state keeps them whole.
type recordedReasonValidator struct{}

func (recordedReasonValidator) Description(context.Context) string {
	return fmt.Sprintf("the account's block record keeps the first %d UTF-16 code units of \"[ticket] reason\"", directory.MaxReasonInRecord)
}

func (v recordedReasonValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (recordedReasonValidator) ValidateString(ctx context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	var ticket types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("ticket"), &ticket)...)
	if req.ConfigValue.IsUnknown() || ticket.IsUnknown() {
		return
	}
	full := holdReason(req.ConfigValue.ValueString(), ticket.ValueString())
	if kept := directory.ReasonInRecord(full); kept != full {
		resp.Diagnostics.AddAttributeWarning(req.Path, "The block record keeps the reason shortened",
			fmt.Sprintf("The account's block record (its Notes) and description keep at most %d UTF-16 code units of the ticket "+
				"and reason together, so an administrator who looks at the account reads %q. Terraform's state keeps them "+
				"whole. Shorten the reason to keep it whole on the account.", directory.MaxReasonInRecord, kept))
	}
}

// accountNameValidator checks a name against Active Directory's naming rules at plan time, with the same rules the
// directory client applies before it sends anything.
type accountNameValidator struct {
	kind directory.Kind
}

func (v accountNameValidator) Description(context.Context) string {
	if v.kind == directory.KindComputer {
		return "must be a computer name (sAMAccountName without the trailing $): 1 to 15 characters, none of \\ / : * ? \" < > | [ ] ; = , + @"
	}
	return "must be a sAMAccountName (up to 20 characters, none of \" / \\ [ ] : ; | = , + * ? < > @) or a user principal name"
}

func (v accountNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v accountNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	name := req.ConfigValue.ValueString()
	if err := directory.ValidateName(v.kind, name); err != nil {
		detail := err.Error()
		if label, _, ok := strings.Cut(name, "."); ok && v.kind == directory.KindComputer && label != "" {
			detail += fmt.Sprintf(". %q looks like a DNS name: computer_name takes the computer's name (its sAMAccountName "+
				"without the trailing $), such as %q", name, strings.ToUpper(label))
		}
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid account name", detail)
	}
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// importGUID tells an objectGUID, bare or in braces as Windows tools print it, from an account name in import IDs.
func importGUID(s string) (string, bool) {
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	return s, guidPattern.MatchString(s)
}

// timeoutsAttrTypes is the object type of the timeouts block (create, update, delete).
var timeoutsAttrTypes = map[string]attr.Type{
	"create": types.StringType,
	"update": types.StringType,
	"delete": types.StringType,
}

// addBlockError turns an error of a block into a diagnostic that says what failed and what to do next, on the
// attribute that names the account.
func addBlockError(diags *diag.Diagnostics, at path.Path, noun, name string, err error) {
	addAccountError(diags, at, blocking, noun, name, err)
}

// addReadError is addBlockError for a refresh of a block.
func addReadError(diags *diag.Diagnostics, at path.Path, noun, name string, err error) {
	addAccountError(diags, at, reading, noun, name, err)
}

// addReleaseError is addBlockError for the release of a block (destroy): the block stays in state.
func addReleaseError(diags *diag.Diagnostics, at path.Path, noun, name string, err error) {
	addAccountError(diags, at, releasing, noun, name, err)
}

// accountWork is what the provider was doing to an account when it failed, in the words of the diagnostics.
type accountWork struct {
	to, failed, retry string
}

var (
	blocking = accountWork{to: "to block the", failed: "Blocking the",
		retry: "then apply again: a block that was not made changes nothing, and one that was made is completed in place."}
	releasing = accountWork{to: "to lift the block of the", failed: "Lifting the block of the",
		retry: "then destroy again: the block stays in state, and the account as it is, until then."}
	reading = accountWork{to: "to read the block of the", failed: "Reading the block of the",
		retry: "then plan again: a refresh changes nothing."}
)

func addAccountError(diags *diag.Diagnostics, at path.Path, work accountWork, noun, name string, err error) {
	if err == nil {
		return
	}
	var guard *directory.GuardError
	var invalid *directory.ValidationError
	var config *block.ConfigurationError
	var remote *winrm.Error
	var conflict *directory.OtherHoldsError
	var unrecordable *directory.UnrecordableBlockError
	var ldapTLS *directory.TLSError
	switch {
	case errors.As(err, &ldapTLS):
		diags.AddAttributeError(at, fmt.Sprintf("Cannot reach Active Directory securely %s %s %q", work.to, noun, name),
			err.Error()+"\n\nCheck ldap.ca_certificate (the CA that signs the domain controllers' certificates) and the host "+
				"names in ldap.urls; ldap.insecure = true skips the check, for labs only. Nothing was changed.")
	case errors.Is(err, directory.ErrNotFound):
		diags.AddAttributeError(at, fmt.Sprintf("No %s named %q", noun, name),
			fmt.Sprintf("Active Directory has no %s account %q under the search base. Check the spelling, the provider's "+
				"ldap.base_dn and ldap.allowed_search_bases.", noun, name))
	case errors.As(err, &guard):
		diags.AddAttributeError(at, fmt.Sprintf("Refusing to block the %s %q", noun, name),
			fmt.Sprintf("The provider refuses to disable %s: %s.", guard.DN, guard.Reason))
	case errors.As(err, &conflict) && conflict.Cause == nil:
		diags.AddAttributeError(at, fmt.Sprintf("Refusing an unrecorded block of the %s %q", noun, name), conflict.Error()+".")
	case errors.As(err, &unrecordable):
		diags.AddAttributeError(at, fmt.Sprintf("The block of the %s %q cannot be recorded on the account", noun, name),
			err.Error()+".\n\nA block with disable_account = false leaves the account enabled and exists only in the "+
				"account's block record, where the other blocks count it. Make the record writable (see the error), or "+
				"block with disable_account = true, then apply again.")
	case errors.As(err, &invalid):
		diags.AddAttributeError(at, fmt.Sprintf("Invalid %s name %q", noun, name), invalid.Error())
	case errors.As(err, &config):
		diags.AddAttributeError(at, fmt.Sprintf("A Remote Access server refused the provider's WinRM settings; %s %q was not blocked", noun, name),
			err.Error())
	case directory.IsUnreachable(err):
		diags.AddAttributeError(at, fmt.Sprintf("Cannot reach Active Directory %s %s %q", work.to, noun, name),
			err.Error()+"\n\nNo domain controller in ldap.urls answered. Check that the directory is running and "+
				"reachable from here (host, port, firewall), "+work.retry)
	case errors.As(err, &remote):
		diags.AddAttributeError(at, fmt.Sprintf("Remote Access operation for %s %q failed", noun, name), err.Error())
	default:
		diags.AddAttributeError(at, fmt.Sprintf("%s %s %q failed", work.failed, noun, name), err.Error())
	}
}
