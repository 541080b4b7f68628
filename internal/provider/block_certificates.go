package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/block"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
)

// certificateLever is the certificate hold of a device block, in its model.
type certificateLever struct {
	CertificateHold    types.Object `tfsdk:"certificate_hold"`
	HeldCertificates   types.List   `tfsdk:"held_certificates"`
	PendingAuthorities types.List   `tfsdk:"pending_certificate_authorities"`
	PendingFlush       types.List   `tfsdk:"pending_revocation_flush"`
}

type certificateHoldModel struct {
	Templates                    types.List   `tfsdk:"templates"`
	PermanentReason              types.String `tfsdk:"permanent_reason"`
	RequireRevocationEnforcement types.Bool   `tfsdk:"require_revocation_enforcement"`
}

var heldCertificateType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"serial":                types.StringType,
	"certificate_authority": types.StringType,
	"template":              types.StringType,
	"permanent":             types.BoolType,
	"shared":                types.BoolType,
}}

var certificateHoldType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"templates":                      types.ListType{ElemType: types.StringType},
	"permanent_reason":               types.StringType,
	"require_revocation_enforcement": types.BoolType,
}}

// withAttributes adds the attributes of more to attrs.
func withAttributes(more, attrs map[string]schema.Attribute) map[string]schema.Attribute {
	for name, a := range more {
		attrs[name] = a
	}
	return attrs
}

var permanentReasonNames = []string{"unspecified", "key_compromise", "affiliation_changed", "superseded", "cessation_of_operation"}

func certificateLeverSchema() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"certificate_hold": schema.SingleNestedAttribute{
			Optional: true,
			MarkdownDescription: "Put the device's certificates on hold at the provider's `certificate_authorities` (revocation " +
				"reason certificateHold, undone when the block is destroyed), publish new CRLs and flush the revocation caches " +
				"of every Remote Access server before the purge. This stops the Always On VPN device tunnel and DirectAccess, " +
				"which authenticate with the certificate and not the computer account, but only on servers that enforce " +
				"revocation (the plan shows each server's settings and the command that enforces them). Adding or changing it " +
				"on a block completes the hold in place; removing it keeps what this block holds until the block is destroyed.",
			Attributes: map[string]schema.Attribute{
				"templates": schema.ListAttribute{
					Required: true, ElementType: types.StringType,
					Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
						listvalidator.ValueStringsAre(stringvalidator.LengthBetween(1, 256))},
					MarkdownDescription: "The certificate templates (name or OID) to hold, such as the device tunnel's and " +
						"DirectAccess's. Name only remote-access templates: a certificate the office also uses (802.1X, Wi-Fi) " +
						"stops working in the office too.",
				},
				"permanent_reason": schema.StringAttribute{
					Optional:   true,
					Validators: []validator.String{stringvalidator.OneOf(permanentReasonNames...)},
					MarkdownDescription: "Revoke permanently with this reason (`key_compromise` for a device gone for good, " +
						"`unspecified`, `affiliation_changed`, `superseded`, `cessation_of_operation`) instead of holding. " +
						"**It cannot be undone**: destroying the block leaves the certificates revoked.",
				},
				"require_revocation_enforcement": schema.BoolAttribute{
					Optional: true,
					MarkdownDescription: "Refuse the plan when a Remote Access server does not enforce revocation (IKEv2 " +
						"`CertAuthFlags` 4 and IPsec `CertValidationLevel` AttemptCrlCheck or RequireCrlCheck). By default it " +
						"is a warning. The provider never changes these settings itself.",
				},
			},
		},
		"held_certificates": schema.ListAttribute{
			Computed: true, ElementType: heldCertificateType,
			MarkdownDescription: "The certificates this block answers for: `serial`, `certificate_authority`, `template`; " +
				"`permanent` when this block revoked it permanently; `shared` when another block of the device had put it " +
				"on hold. Destroying the block takes them off hold unless another block of the device holds them (each " +
				"block's line in the account's block record lists the serials it holds). A certificate revoked before " +
				"the block is never among them.",
		},
		"pending_certificate_authorities": schema.ListAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "CAs where the hold or the CRL's publication has not succeeded yet (unreachable, access " +
				"denied), or where the refresh found a held certificate valid again (taken off hold outside Terraform: " +
				"drift). While it is not empty, every plan shows an update that completes the hold in place.",
		},
		"pending_revocation_flush": schema.ListAttribute{
			Computed: true, ElementType: types.StringType,
			MarkdownDescription: "Servers whose revocation caches could not be flushed after the hold: they may accept the " +
				"held certificate until their cached CRL expires. The next apply flushes and purges them in place.",
		},
	}
}

// emptyLever sets the computed attributes of a lever that has done nothing.
func (l *certificateLever) empty() {
	l.HeldCertificates = types.ListValueMust(heldCertificateType, []attr.Value{})
	l.PendingAuthorities = types.ListValueMust(types.StringType, []attr.Value{})
	l.PendingFlush = types.ListValueMust(types.StringType, []attr.Value{})
}

// holdConfig reads certificate_hold; nil when it is not set.
func (l *certificateLever) holdConfig(ctx context.Context, diags *diag.Diagnostics) *certificateHoldModel {
	if l == nil || l.CertificateHold.IsNull() || l.CertificateHold.IsUnknown() {
		return nil
	}
	var h certificateHoldModel
	diags.Append(l.CertificateHold.As(ctx, &h, basetypes.ObjectAsOptions{})...)
	return &h
}

// certificateOptions builds the lever for block.Options from the configuration; nil without certificate_hold.
func (o *blockOps) certificateOptions(ctx context.Context, l *certificateLever, diags *diag.Diagnostics) *block.CertificateHold {
	h := l.holdConfig(ctx, diags)
	if h == nil {
		return nil
	}
	var templates []string
	diags.Append(h.Templates.ElementsAs(ctx, &templates, false)...)
	authorities := o.authorities(diags)
	if diags.HasError() {
		return nil
	}
	out := &block.CertificateHold{Authorities: authorities, Templates: templates}
	if name := h.PermanentReason.ValueString(); name != "" {
		reason, err := ca.PermanentReason(name)
		if err != nil {
			diags.AddAttributeError(path.Root("certificate_hold").AtName("permanent_reason"), "Invalid revocation reason", err.Error())
			return nil
		}
		out.Permanent = &reason
	}
	return out
}

// authorities are the provider's CAs; an error when none is configured.
func (o *blockOps) authorities(diags *diag.Diagnostics) []block.Authority {
	cas, err := o.clients.CertificateAuthorities()
	if err != nil {
		diags.AddError("Cannot reach the certificate authorities", err.Error())
		return nil
	}
	if len(cas) == 0 {
		diags.AddAttributeError(path.Root("certificate_hold"), "No certificate authority is configured",
			"certificate_hold needs the enterprise CAs that issue the device's certificates: set certificate_authorities in "+
				"the provider block.")
		return nil
	}
	out := make([]block.Authority, len(cas))
	for i, a := range cas {
		out[i] = a
	}
	return out
}

// certificatePrior reads what the lever left in state.
func certificatePrior(ctx context.Context, before *certificateLever, diags *diag.Diagnostics) block.CertificatePrior {
	var p block.CertificatePrior
	if before == nil {
		return p
	}
	diags.Append(before.PendingAuthorities.ElementsAs(ctx, &p.PendingAuthorities, false)...)
	diags.Append(before.PendingFlush.ElementsAs(ctx, &p.PendingFlush, false)...)
	p.Known = heldCertificates(ctx, before.HeldCertificates, diags)
	return p
}

// leverNeedsCompletion reports whether the lever has a step pending or a changed configuration.
func leverNeedsCompletion(before, after *certificateLever) bool {
	if before == nil || after == nil {
		return false
	}
	return len(before.PendingAuthorities.Elements()) > 0 || len(before.PendingFlush.Elements()) > 0 ||
		(!after.CertificateHold.IsNull() && !after.CertificateHold.Equal(before.CertificateHold))
}

// planLever keeps the lever's computed attributes, or leaves them unknown when the apply will change them, or may:
// an apply that completes the block in place (ensures) holds what it finds valid, and a hold written again whose
// answer is lost leaves every CA pending.
func planLever(before, after *certificateLever, ensures bool) {
	if before == nil || after == nil {
		return
	}
	after.HeldCertificates, after.PendingAuthorities, after.PendingFlush = before.HeldCertificates, before.PendingAuthorities, before.PendingFlush
	if ensures || leverNeedsCompletion(before, after) || before.HeldCertificates.IsNull() {
		after.HeldCertificates = types.ListUnknown(heldCertificateType)
		after.PendingAuthorities = types.ListUnknown(types.StringType)
		after.PendingFlush = types.ListUnknown(types.StringType)
	}
}

// recordLever writes the lever's outcome into the model: the certificates known before and those new, each once.
func recordLever(ctx context.Context, l *certificateLever, known []block.HeldCertificate, out block.Outcome, diags *diag.Diagnostics) {
	if l == nil {
		return
	}
	all := slices.Clone(known)
	for _, c := range out.Certificates {
		if !slices.ContainsFunc(all, func(k block.HeldCertificate) bool { return k.CA == c.CA && k.Serial == c.Serial }) {
			all = append(all, c)
		}
	}
	values := make([]attr.Value, len(all))
	for i, c := range all {
		values[i] = types.ObjectValueMust(heldCertificateType.AttrTypes, map[string]attr.Value{
			"serial": types.StringValue(c.Serial), "certificate_authority": types.StringValue(c.CA),
			"template": types.StringValue(c.Template), "permanent": types.BoolValue(c.Permanent), "shared": types.BoolValue(c.Shared),
		})
	}
	l.HeldCertificates = types.ListValueMust(heldCertificateType, values)
	l.PendingAuthorities = stringList(ctx, out.PendingAuthorities, diags)
	l.PendingFlush = stringList(ctx, out.PendingFlush, diags)
}

// heldCertificates reads held_certificates.
func heldCertificates(ctx context.Context, l types.List, diags *diag.Diagnostics) []block.HeldCertificate {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	var rows []struct {
		Serial    types.String `tfsdk:"serial"`
		CA        types.String `tfsdk:"certificate_authority"`
		Template  types.String `tfsdk:"template"`
		Permanent types.Bool   `tfsdk:"permanent"`
		Shared    types.Bool   `tfsdk:"shared"`
	}
	diags.Append(l.ElementsAs(ctx, &rows, false)...)
	out := make([]block.HeldCertificate, len(rows))
	for i, r := range rows {
		out[i] = block.HeldCertificate{Serial: r.Serial.ValueString(), CA: r.CA.ValueString(), Template: r.Template.ValueString(),
			Permanent: r.Permanent.ValueBool(), Shared: r.Shared.ValueBool()}
	}
	return out
}

// releaseLever takes the block's certificates off hold before its account hold is released, and only when the
// account's record shows no other block: a certificate another block still holds stays held. It returns false when
// the release must stop (the block then stays in state and destroy can be run again).
func (o *blockOps) releaseLever(ctx context.Context, blocker *block.Blocker, l *certificateLever, m *blockModel, hold string, released []byte, diags *diag.Diagnostics) bool {
	if l == nil {
		return true
	}
	certs := heldCertificates(ctx, l.HeldCertificates, diags)
	if !slices.ContainsFunc(certs, func(c block.HeldCertificate) bool { return !c.Permanent }) {
		return true
	}
	acct, err := blocker.Directory.FindByGUID(ctx, directory.KindComputer, m.ObjectGUID.ValueString())
	if errors.Is(err, directory.ErrDeleted) {
		diags.AddWarning("The held certificates of a deleted device stay on hold",
			fmt.Sprintf("The computer account is deleted; its certificates %s stay revoked (reason certificateHold).", serials(certs)))
		return true
	}
	if err != nil {
		diags.AddError("Cannot tell whether other blocks hold the device's certificates", err.Error()+
			"\n\n"+certificatesKeptOnRelease+" Run destroy again.")
		return false
	}
	others, err := acct.HeldByOthers(hold)
	if err != nil {
		diags.AddError("Cannot tell whether other blocks hold the device's certificates", err.Error()+
			"\n\n"+certificatesKeptOnRelease+" Repair the block record, then run destroy again.")
		return false
	}
	if len(released) > 0 && len(others) > 0 {
		// A block that held the device's certificates at a CA after this hold left the record (one begun since, or
		// one begun before whose CA answered only since) found them on hold with no block listing them, took them
		// for a hold it must not undo, and so does not list them either: nothing in the record tells such a block
		// from the others.
		diags.AddError("The device's certificates stay on hold: other blocks of the device may rely on them",
			fmt.Sprintf("An earlier destroy of this block released its hold of the account and did not take %s off hold "+
				"(the CA did not answer, or the release's own answer was lost). "+
				"The account's block record now lists other blocks of the device (%s): any of them that held the device's "+
				"certificates since found those on hold with no block listing them, so it may rely on them without saying "+
				"so. The certificates stay on hold and this block stays in state: destroy it again once those blocks are "+
				"destroyed, or, if none of them should keep the device's certificates on hold, take them off hold by hand "+
				"(certutil -revoke SERIAL unrevoke) and remove this block from state (terraform state rm).",
				serials(certs), holdIDs(others)))
		return false
	}
	kept, rest := block.HeldElsewhere(certs, others)
	if len(kept) > 0 {
		diags.AddWarning("The device's certificates stay on hold: other blocks hold the device",
			fmt.Sprintf("The account's block record lists other blocks (%s) that hold %s, or does not say which certificates "+
				"they hold (a block recorded by an earlier version, or one still being placed): those stay on hold, and the "+
				"last block released that holds them takes them off hold. If none of them holds certificates, take them off "+
				"hold by hand (certutil -revoke SERIAL unrevoke) once they are released.", holdIDs(others), serials(kept)))
	}
	if !slices.ContainsFunc(rest, func(c block.HeldCertificate) bool { return !c.Permanent }) {
		return true
	}
	res, err := blocker.ReleaseCertificates(ctx, o.authorities(diags), rest, o.servers(ctx, m, diags))
	for serial, why := range res.Kept {
		diags.AddWarning("A certificate stays revoked", fmt.Sprintf("%s: %s; it is never taken off hold.", serial, why))
	}
	if err != nil {
		diags.AddError("The device's certificates were not all taken off hold", err.Error()+
			"\n\n"+certificatesKeptOnRelease+" Run destroy again once the CA answers.")
		return false
	}
	return true
}

// holdIDs lists the ids of holds, for a message.
func holdIDs(holds []directory.Hold) string {
	ids := make([]string, len(holds))
	for i, h := range holds {
		ids[i] = h.ID
	}
	return strings.Join(ids, ", ")
}

// certificatesKeptOnRelease is what a destroy whose certificate release failed left: the certificates come off hold
// only after the account's hold is released, so that one is gone already.
const certificatesKeptOnRelease = "The block's hold of the account is released (the account is enabled again when no " +
	"other block holds it and it was enabled before the first block); the device's certificates not taken off hold " +
	"stay on hold, and the block stays in state so that the next destroy takes them off hold (without releasing the " +
	"account again: whatever disabled it since keeps it disabled)."

func serials(certs []block.HeldCertificate) string {
	var s []string
	for _, c := range certs {
		s = append(s, c.Serial)
	}
	return strings.Join(s, ", ")
}

// enforcementTimeout bounds the plan-time reading of the servers' revocation settings.
const enforcementTimeout = 10 * time.Second

// planCertificates shows, in the plan, the certificates the hold will take, what each lever stops and what it does
// not, and each server's revocation enforcement with the command that enforces it.
func (o *blockOps) planCertificates(ctx context.Context, target block.Target, servers []string, l *certificateLever, diags *diag.Diagnostics) {
	hold := o.certificateOptions(ctx, l, diags)
	if hold == nil {
		return
	}
	h := l.holdConfig(ctx, diags)
	dir, err := o.directory()
	if err != nil {
		diags.AddError("Active Directory is not configured", err.Error())
		return
	}
	dom, err := dir.Domain(ctx)
	if err != nil {
		diags.AddError("Cannot read the domain", err.Error())
		return
	}
	lines, listed := certificateLines(ctx, hold, block.Requester(dom, target.Account))
	verb := "puts on hold (reversible: destroying the block takes them off hold)"
	if hold.Permanent != nil {
		verb = "REVOKES PERMANENTLY (permanent_reason; this cannot be undone, destroying the block leaves them revoked)"
	}
	diags.AddWarning(fmt.Sprintf("Certificates of %s", target.Account.Name()),
		fmt.Sprintf("The block %s these certificates of %s, publishes new CRLs and flushes the revocation caches of every "+
			"Remote Access server before the purge:\n%s\n\n%s", verb, target.Account.SAMAccountName, strings.Join(lines, "\n"), leverScope))
	if listed != nil {
		configs := make([]string, len(hold.Authorities))
		for i, a := range hold.Authorities {
			configs[i] = a.Config()
		}
		warnUnholdable(target.Account.Name(), readUnholdable(ctx, dir, target.Account, listed, hold.Templates, configs, diags), diags)
	}
	o.checkEnforcement(ctx, servers, h.RequireRevocationEnforcement.ValueBool(), diags)
}

// leverScope says what each lever stops and what it does not.
const leverScope = "What each lever stops: disabling the computer account stops DirectAccess's Kerberos-authenticated " +
	"tunnels but not an Always On VPN device tunnel (certificate only); the certificate hold stops the device tunnel and " +
	"DirectAccess's IPsec certificate authentication, but only on servers that enforce revocation, and does nothing on the " +
	"others."

// certificateLines lists each CA's certificates of the device and templates, as a plan shows them, and returns them:
// nil when a CA could not list them, since what the CAs list is then not all they hold (the plan says so already).
func certificateLines(ctx context.Context, hold *block.CertificateHold, requester string) ([]string, []ca.Certificate) {
	var lines []string
	listed := []ca.Certificate{}
	complete := true
	for _, a := range hold.Authorities {
		certs, err := a.Certificates(ctx, requester, hold.Templates)
		if err != nil {
			lines = append(lines, fmt.Sprintf("- %s: cannot list (%v); the apply holds what it finds then, or records the CA as pending", a.Config(), err))
			complete = false
			continue
		}
		listed = append(listed, certs...)
		if len(certs) == 0 {
			lines = append(lines, fmt.Sprintf("- %s: no certificate of %s for %s", a.Config(), strings.Join(hold.Templates, ", "), requester))
		}
		for _, c := range certs {
			note := ""
			if c.Held() || c.RevokedPermanently() {
				note = " (revoked before; never released by this block)"
			}
			expiry, _ := c.Expiry()
			lines = append(lines, fmt.Sprintf("- serial %s, template %s, expires %s, CA %s%s", c.Serial, c.Template,
				expiry.Format(time.DateOnly), a.Config(), note))
		}
	}
	if !complete {
		return lines, nil
	}
	return lines, listed
}

// checkEnforcement reads each server's revocation enforcement and warns (or, with require, errs) where it is off.
func (o *blockOps) checkEnforcement(ctx context.Context, servers []string, require bool, diags *diag.Diagnostics) {
	if len(servers) == 0 {
		return
	}
	cluster, err := o.clients.Cluster(servers)
	if err != nil {
		diags.AddError("Cannot reach the Remote Access servers", err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, enforcementTimeout)
	defer cancel()
	read, err := remoteaccess.FanOut(ctx, cluster, func(ctx context.Context, r remoteaccess.Runner) (ca.Enforcement, error) {
		return ca.ReadEnforcement(ctx, r)
	})
	var lines []string
	off := false
	for _, s := range servers {
		e, ok := read[s]
		if !ok {
			off = true
			lines = append(lines, fmt.Sprintf("- %s: cannot read (%s)", s, serverFailure(err, s, enforcementTimeout)))
			continue
		}
		lines = append(lines, enforcementLine(s, e))
		off = off || !e.IKEv2Enforced || !e.IPsecEnforced()
	}
	summary := "Revocation enforcement on each Remote Access server:\n" + strings.Join(lines, "\n")
	if !off {
		diags.AddWarning("Revocation is enforced on every Remote Access server", summary)
		return
	}
	detail := summary + "\n\nWhere it is not enforced, a held certificate keeps working: the device tunnel or DirectAccess " +
		"comes back after the purge. On each such server, enforce it (the provider never changes these settings):\n" +
		"- IKEv2 (Always On VPN device tunnel): " + ca.EnforceIKEv2Command + "\n" +
		"- IPsec (DirectAccess): " + ca.EnforceIPsecCommand
	if require {
		diags.AddAttributeError(path.Root("certificate_hold").AtName("require_revocation_enforcement"),
			"Revocation is not enforced on every Remote Access server", detail)
		return
	}
	diags.AddWarning("Revocation is not enforced on every Remote Access server: the hold does not stop the device there", detail)
}

func enforcementLine(server string, e ca.Enforcement) string {
	flags := "absent"
	if e.IKEv2CertAuthFlags != nil {
		flags = fmt.Sprint(*e.IKEv2CertAuthFlags)
	}
	state := func(on bool) string {
		if on {
			return "enforced"
		}
		return "NOT enforced"
	}
	level := e.IPsecCertValidationLevel
	if level == "" {
		level = ca.ValidationNone
	}
	return fmt.Sprintf("- %s: IKEv2 CertAuthFlags %s (%s); IPsec CertValidationLevel %s (%s)", server, flags,
		state(e.IKEv2Enforced), level, state(e.IPsecEnforced()))
}

// leverPrior is block.Prior's certificate part for an update: what the state left, and every CA again when
// certificate_hold was added or changed.
func (o *blockOps) leverPrior(ctx context.Context, before, after *certificateLever, opts block.Options, diags *diag.Diagnostics) block.CertificatePrior {
	p := certificatePrior(ctx, before, diags)
	if opts.Certificates != nil && !after.CertificateHold.Equal(before.CertificateHold) {
		for _, a := range opts.Certificates.Authorities {
			p.PendingAuthorities = append(p.PendingAuthorities, a.Config())
		}
	}
	return p
}

// planChangedHold shows, when certificate_hold is added to a block in state or changed, what the update will hold
// and each server's enforcement, as a new block's plan does.
func (o *blockOps) planChangedHold(ctx context.Context, prior, plan blockState, diags *diag.Diagnostics) {
	before, after := prior.certificates(), plan.certificates()
	if after.holdConfig(ctx, diags) == nil || after.CertificateHold.Equal(before.CertificateHold) {
		return
	}
	m := plan.common()
	blocker := o.blocker(diags)
	if blocker == nil || m.Servers.IsUnknown() {
		return
	}
	target, err := blocker.ResolveGUID(ctx, o.kind.kind, prior.common().ObjectGUID.ValueString(), o.guard(ctx, m, diags))
	if err != nil {
		addBlockError(diags, o.nameAttr(), o.kind.noun, plan.accountName().ValueString(), err)
		return
	}
	o.planCertificates(ctx, target, o.servers(ctx, m, diags), after, diags)
}

// holdCheckTimeout bounds the refresh's reading of the held certificates at one CA.
const holdCheckTimeout = 10 * time.Second

// readLever checks, at refresh, that the certificates the block holds are still on hold: one taken off hold out of
// band (certutil -revoke SERIAL unrevoke) lets the device back in. That is drift: its CA joins
// pending_certificate_authorities, so that the next plan is an update in place that holds it again (never a
// replacement, which would lift the block first). A certificate revoked permanently since stays out and is no drift;
// a CA that cannot be asked leaves the state as it is, with a warning, since a refresh must not fail on it.
func (o *blockOps) readLever(ctx context.Context, state tfsdk.State, next *tfsdk.State, acct directory.Account, diags *diag.Diagnostics) {
	if o.kind.kind != directory.KindComputer {
		return
	}
	var l certificateLever
	diags.Append(state.GetAttribute(ctx, path.Root("certificate_hold"), &l.CertificateHold)...)
	diags.Append(state.GetAttribute(ctx, path.Root("held_certificates"), &l.HeldCertificates)...)
	diags.Append(state.GetAttribute(ctx, path.Root("pending_certificate_authorities"), &l.PendingAuthorities)...)
	certs := slices.DeleteFunc(heldCertificates(ctx, l.HeldCertificates, diags), func(c block.HeldCertificate) bool { return c.Permanent })
	if l.CertificateHold.IsNull() || len(certs) == 0 || diags.HasError() {
		return // without certificate_hold the update would not hold again: drift would never end
	}
	var pending []string
	diags.Append(l.PendingAuthorities.ElementsAs(ctx, &pending, false)...)
	cas, err := o.clients.CertificateAuthorities()
	if err != nil {
		diags.AddWarning("Cannot check the held certificates", err.Error())
		return
	}
	var released []string
	for _, a := range cas {
		if slices.Contains(pending, a.Config()) {
			continue // the next apply holds everything at this CA again anyway
		}
		off := o.releasedAt(ctx, a, certs, diags)
		if len(off) > 0 {
			pending = append(pending, a.Config())
			released = append(released, off...)
		}
	}
	if len(released) == 0 {
		return
	}
	tflog.Warn(ctx, "held certificates taken off hold out of band", map[string]any{"serials": released})
	diags.AddWarning(fmt.Sprintf("Certificates of %s are no longer on hold", acct.Name()),
		fmt.Sprintf("This block put %s on hold, and the CA now has them valid again: someone took them off hold outside "+
			"Terraform, and the device can connect with them. The next apply holds them again, in place, and purges the "+
			"device on every server; until then the block is incomplete.", strings.Join(released, ", ")))
	diags.Append(next.SetAttribute(ctx, path.Root("pending_certificate_authorities"), stringList(ctx, pending, diags))...)
}

// releasedAt lists the certificates among certs, held at a, that a has valid again. The refreshes of one plan read
// them in runs shared per CA (ca.DefaultStateReader): one run for each block would start a PowerShell on the CA for
// every block that holds certificates. A held certificate the CA no longer has (its row deleted, which also takes it
// off the next CRL) cannot be told held: it is warned of, never taken as held silently.
func (o *blockOps) releasedAt(ctx context.Context, a *ca.CA, certs []block.HeldCertificate, diags *diag.Diagnostics) []string {
	var serials []string
	for _, c := range certs {
		if c.CA == a.Config() {
			serials = append(serials, c.Serial)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, holdCheckTimeout)
	defer cancel()
	var found []ca.Certificate
	for chunk := range slices.Chunk(serials, ca.MaxStates) {
		some, err := ca.DefaultStateReader.States(ctx, a, chunk)
		if err != nil {
			diags.AddWarning("Cannot check the held certificates", fmt.Sprintf("At %s: %v. The refresh keeps what the "+
				"state says; the next refresh checks again.", a.Config(), err))
			return nil
		}
		found = append(found, some...)
	}
	var off, missing []string
	for _, serial := range serials {
		i := slices.IndexFunc(found, func(f ca.Certificate) bool { return strings.EqualFold(f.Serial, serial) })
		switch {
		case i < 0:
			missing = append(missing, serial)
		case !found[i].Held() && !found[i].RevokedPermanently():
			off = append(off, serial)
		}
	}
	if len(missing) > 0 {
		diags.AddWarning("Held certificates are not in the CA's database", fmt.Sprintf("%s has no certificate with serial "+
			"number %s, which this block put on hold: its row was deleted (certutil -deleterow), which also leaves it off "+
			"the next CRL, so the device may connect with it again. Revoke it by hand if the device still has it.",
			a.Config(), strings.Join(missing, ", ")))
	}
	return off
}
