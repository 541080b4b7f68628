package remoteaccess

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// VPNSelection chooses the VPN connections to disconnect: exactly one of UserNames (as the servers print them,
// e.g. DOMAIN\user; see EquivalentUserNames for the other forms of a name) or HostIPAddresses (tunnel addresses
// the servers assigned). Every comparison is an exact, case-insensitive equality.
type VPNSelection struct {
	UserNames       []string `json:"user_names,omitempty"`
	HostIPAddresses []string `json:"host_ip_addresses,omitempty"`
}

// DisconnectedVPN is one VPN connection a server disconnected.
type DisconnectedVPN struct {
	UserNames []string `json:"user_names"`
	HostName  string   `json:"host_name"`
	Address   string   `json:"address"` // the tunnel address it was disconnected by
}

// validated checks the selection and writes every address in its canonical form (RFC 5952 for IPv6, which is what
// .NET's IPAddress.ToString prints), so that "2001:DB8::0:1" finds the connection the server lists as "2001:db8::1".
// The cmdlet documentation does not show how the statistics print IPv6 tunnel addresses: should a server print
// another form, the exact comparison matches nothing, which disconnects nobody rather than somebody else.
func (s VPNSelection) validated() (VPNSelection, error) {
	if (len(s.UserNames) == 0) == (len(s.HostIPAddresses) == 0) {
		return s, fmt.Errorf("%w: exactly one of the user names and the host IP addresses must be given", ErrInvalidArgument)
	}
	var errs []error
	for _, name := range s.UserNames {
		errs = append(errs, ExactName("user name", name))
	}
	out := VPNSelection{UserNames: s.UserNames}
	for _, a := range s.HostIPAddresses {
		addr, err := netip.ParseAddr(a)
		if err != nil || addr.Zone() != "" {
			errs = append(errs, fmt.Errorf("%w: host IP address %q is not an IPv4 or IPv6 address", ErrInvalidArgument, a))
			continue
		}
		out.HostIPAddresses = append(out.HostIPAddresses, addr.Unmap().String())
	}
	return out, errors.Join(errs...)
}

// VPNDisconnects is what one server did with a VPNSelection: the connections it disconnected, and the addresses
// (or user names, for a connection without an address) it failed on while it went on with the others.
type VPNDisconnects struct {
	Disconnected []DisconnectedVPN `json:"disconnected"`
	Failures     []ItemFailure     `json:"failures"`
}

// DisconnectVPNUsers disconnects the selected VPN connections on every server at once and returns, per server that
// answered, what it disconnected and what it failed on; a server that failed altogether is named in the error and
// does not hide what the others did. A server whose reply was lost once the command may have run is never asked
// again: its error is an *OutcomeUnknownError with what a read of its connections found. DirectAccess connections
// are never touched: Disconnect-VpnUser is VPN only (internal/lab/WINDOWS.md, Disconnect-VpnUser).
func (c *Cluster) DisconnectVPNUsers(ctx context.Context, sel VPNSelection) (map[string]VPNDisconnects, error) {
	in, err := sel.validated()
	if err != nil {
		return nil, err
	}
	return FanOut(ctx, c, func(ctx context.Context, r Runner) (VPNDisconnects, error) {
		res, err := run[VPNDisconnects](ctx, r, scriptDisconnectVPNUsers, in)
		if isOutcomeUnknown(err) {
			return res, lookAfterDisconnect(ctx, r, in, err) // never sent again: a second run would report other counts
		}
		return res, err
	})
}

// SASelection chooses the IPsec SAs to purge: every SA of the server (All), or those whose first or second remote
// identity is one of Identities (exact, case-insensitive). Exactly one of the two.
type SASelection struct {
	Identities []string `json:"identities,omitempty"`
	All        bool     `json:"all,omitempty"`
}

// RemovedSA is a main-mode SA a server removed, with the number of quick-mode SAs removed before it.
type RemovedSA struct {
	Name             string `json:"name"`
	RemoteEndpoint   string `json:"remote_endpoint"`
	RemoteFirstID    string `json:"remote_first_id"`
	RemoteSecondID   string `json:"remote_second_id"`
	QuickModeRemoved int    `json:"quick_mode_removed"`
}

func (s SASelection) validate() error {
	if s.All == (len(s.Identities) > 0) {
		return fmt.Errorf("%w: exactly one of the identities and all must be given", ErrInvalidArgument)
	}
	var errs []error
	for _, id := range s.Identities {
		errs = append(errs, ExactName("identity", id))
	}
	return errors.Join(errs...)
}

// SAPurge is what one server removed for an SASelection. An Indeterminate verdict means the server could not tell
// whether the identities had SAs there: no removal is then no proof.
type SAPurge struct {
	Removed []RemovedSA `json:"removed"`
	Verdict
}

// PurgeSAs removes the selected IPsec SAs (quick-mode SAs first, then their main-mode SA) on every server of the
// cluster at once and returns, per server that answered, what it removed. A server whose reply was lost once the
// purge may have run is never asked again: its error is an *OutcomeUnknownError with what a read of its SAs found.
func (c *Cluster) PurgeSAs(ctx context.Context, sel SASelection) (map[string]SAPurge, error) {
	if err := sel.validate(); err != nil {
		return nil, err
	}
	return FanOut(ctx, c, func(ctx context.Context, r Runner) (SAPurge, error) {
		res, err := run[SAPurge](ctx, r, scriptPurgeSAs, sel)
		if isOutcomeUnknown(err) {
			return res, lookAfterPurge(ctx, r, sel, err) // never sent again: a second run would report other counts
		}
		return res, err
	})
}

// wildcards are the characters a reader may take for a pattern. No Windows account name, host name or IPsec
// identity contains them, and the provider compares names exactly, so a name with one is refused rather than
// matched literally.
const wildcards = "*?"

// ExactName checks a name that is matched exactly on the servers: not empty, not padded, no control character and
// no wildcard character.
func ExactName(field, value string) error {
	if err := requiredName(field, value); err != nil {
		return err
	}
	if i := strings.IndexAny(value, wildcards); i >= 0 {
		return fmt.Errorf("%w: %s %q contains %q: names are matched exactly, never as patterns", ErrInvalidArgument, field, value, value[i])
	}
	return nil
}

// EquivalentUserNames returns the forms under which the servers may print a user of the domain whose NetBIOS name
// and DNS name are given: NETBIOS\user, dns.name\user (internal/lab/WINDOWS.md, Connection statistics: the
// statistics print a VPN user as
// corp.contoso.com\remoteuser1) and user@dns.name. A name of another domain, or any name when the domain is not
// known, stands for itself only: forms are never guessed.
func EquivalentUserNames(name, netbiosDomain, dnsDomain string) []string {
	user, ok := userOfDomain(name, netbiosDomain, dnsDomain)
	if !ok {
		return []string{name}
	}
	forms := []string{name, strings.ToUpper(netbiosDomain) + `\` + user, strings.ToLower(dnsDomain) + `\` + user,
		user + "@" + strings.ToLower(dnsDomain)}
	return uniqueFold(forms)
}

// userOfDomain returns the user part of a DOMAIN\user, dns.name\user, user@dns.name or bare name of the domain.
func userOfDomain(name, netbiosDomain, dnsDomain string) (string, bool) {
	if netbiosDomain == "" || dnsDomain == "" {
		return "", false
	}
	ofDomain := func(d string) bool { return strings.EqualFold(d, netbiosDomain) || strings.EqualFold(d, dnsDomain) }
	if domain, user, found := strings.Cut(name, `\`); found {
		return user, user != "" && ofDomain(domain)
	}
	if user, domain, found := strings.Cut(name, "@"); found {
		return user, user != "" && ofDomain(domain)
	}
	return name, name != ""
}

// uniqueFold drops case-insensitive duplicates, keeping the first spelling.
func uniqueFold(values []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range values {
		if key := strings.ToLower(v); !seen[key] {
			seen[key] = true
			out = append(out, v)
		}
	}
	return out
}
