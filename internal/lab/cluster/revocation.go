package cluster

import (
	"context"
	"crypto/x509"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
)

// Revocation checking on the Remote Access servers (internal/lab/WINDOWS.md, Revocation on Remote Access servers):
// a device presents the certificate the lab's enterprise CA issued it; a server checks it against the CRL it
// cached from the certificate's distribution point, and only where it enforces revocation: CertAuthFlags 4 for
// IKEv2 (Always On VPN device tunnels), CertValidationLevel AttemptCrlCheck or RequireCrlCheck for IPsec
// (DirectAccess). A cached CRL is used until its nextUpdate passes or the server's caches are flushed.

// Templates the lab's devices present: DirectAccess IPsec tunnels and Always On VPN device tunnels. Each device also
// has a TemplateWorkstation certificate (802.1X in the office) that no tunnel presents.
const (
	TemplateDirectAccess = "DirectAccess"
	TemplateDeviceTunnel = "AOVPNDeviceTunnel"
	TemplateWorkstation  = "Workstation"
)

// CertValidationLevel values of Set-NetFirewallSetting.
const (
	validationNone    = "None"
	validationAttempt = "AttemptCrlCheck"
	validationRequire = "RequireCrlCheck"
)

// ServerEnforcement is a server's revocation settings, as seeded.
type ServerEnforcement struct {
	// CertAuthFlags is the IKEv2 CertAuthFlags registry value; nil when absent (not enforced).
	CertAuthFlags *int `json:"cert_auth_flags,omitempty"`
	// CertValidationLevel is the IPsec setting in the active store: None (default), AttemptCrlCheck or
	// RequireCrlCheck.
	CertValidationLevel string `json:"cert_validation_level,omitempty"`
}

func (e ServerEnforcement) level() string {
	if e.CertValidationLevel == "" {
		return validationNone
	}
	return e.CertValidationLevel
}

func (e ServerEnforcement) valid() bool {
	switch e.level() {
	case validationNone, validationAttempt, validationRequire:
		return true
	}
	return false
}

// EnforceRevocationEverywhere sets every node of the seed to enforce revocation for both IKEv2 and IPsec, with the
// values the provider's plan names as enforcing (ca.EnforceIKEv2Command and ca.EnforceIPsecCommand).
func (s *Seed) EnforceRevocationEverywhere() {
	flags := 4
	if s.RevocationEnforcement == nil {
		s.RevocationEnforcement = map[string]ServerEnforcement{}
	}
	for _, n := range s.Nodes {
		s.RevocationEnforcement[n] = ServerEnforcement{CertAuthFlags: &flags, CertValidationLevel: validationRequire}
	}
}

// serverRevocation is what one server knows: its settings and its cached CRL.
type serverRevocation struct {
	settings ServerEnforcement
	crl      *x509.RevocationList // nil: nothing cached
	// unavailable: the last fetch failed, so the server has no revocation data.
	unavailable bool
}

// crlFetchTimeout bounds one CRL download by a server.
const crlFetchTimeout = 10 * time.Second

// SetRevocationEnforcement changes a server's revocation settings, as an administrator would (on Windows a
// CertAuthFlags change needs a restart of RemoteAccess; the lab applies it at once).
func (c *Cluster) SetRevocationEnforcement(server string, e ServerEnforcement) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.revocationOf(server)
	if st == nil || !e.valid() {
		return false
	}
	st.settings = e
	return true
}

// revocationOf returns a server's revocation state, nil for an unknown server.
func (c *Cluster) revocationOf(server string) *serverRevocation {
	n := c.node(server)
	if n == nil {
		return nil
	}
	return c.revocation[n.name]
}

func (c *Cluster) initRevocation() {
	c.revocation = map[string]*serverRevocation{}
	for _, n := range c.nodes {
		c.revocation[n.name] = &serverRevocation{settings: c.opts.Enforcement[strings.ToUpper(n.name)]}
	}
}

// refreshCRLs downloads the CRL for every server whose cache is empty or past its nextUpdate, without holding the
// lock (it is a network call), as a server does at its next certificate check.
func (c *Cluster) refreshCRLs(ctx context.Context, now time.Time) {
	if c.opts.Authority == nil || c.opts.FetchCRL == nil {
		return
	}
	c.mu.Lock()
	var stale []string
	for name, st := range c.revocation {
		if st.crl == nil || now.After(st.crl.NextUpdate) {
			stale = append(stale, name)
		}
	}
	c.mu.Unlock()
	if len(stale) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, crlFetchTimeout)
	defer cancel()
	crl, err := c.fetchCRL(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, name := range stale {
		st := c.revocation[name]
		st.crl, st.unavailable = crl, err != nil
	}
}

func (c *Cluster) fetchCRL(ctx context.Context) (*x509.RevocationList, error) {
	der, err := c.opts.FetchCRL(ctx, c.opts.CRLURL)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, err
	}
	if err := crl.CheckSignatureFrom(c.opts.Authority.Certificate()); err != nil {
		return nil, err
	}
	return crl, nil
}

// flushRevocationCaches is certutil -urlcache * delete and -setreg chain\ChainCacheResyncFiletime @now: the server
// forgets its CRL and downloads the current one at its next check.
func (c *Cluster) flushRevocationCaches(server string) {
	if st := c.revocationOf(server); st != nil {
		st.crl, st.unavailable = nil, false
	}
}

// certificateRefused says whether server refuses the certificate computer presents on a tunnel: IKEv2 (an Always
// On VPN device tunnel) or IPsec (DirectAccess). Without the lab's CA nothing is refused here.
func (c *Cluster) certificateRefused(server, computer string, ikev2 bool) bool {
	st := c.revocationOf(server)
	if c.opts.Authority == nil || st == nil {
		return false
	}
	template, requireData := TemplateDirectAccess, st.settings.level() == validationRequire
	enforced := st.settings.level() != validationNone
	if ikev2 {
		// Microsoft documents only 4 as enforcing; with CRLs unavailable the lab fails safe and refuses.
		template, requireData = TemplateDeviceTunnel, true
		enforced = st.settings.CertAuthFlags != nil && *st.settings.CertAuthFlags == 4
	}
	if !enforced {
		return false
	}
	cert := c.presented(computer, template)
	if cert == nil {
		return true // nothing valid to present: the device cannot authenticate
	}
	if st.crl == nil {
		return requireData
	}
	for _, e := range st.crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return true
		}
	}
	return false
}

// presented is the certificate a device presents for a template: the newest one the CA issued it that has not
// expired, whatever the CA's database says of its revocation (the device does not know).
func (c *Cluster) presented(computer, template string) *x509.Certificate {
	now := c.opts.Clock()
	var best *x509.Certificate
	for _, r := range c.opts.Authority.Rows(c.opts.Domain.NetBIOSName+`\`+strings.ToUpper(computer)+"$", []string{template}) {
		if now.After(r.NotAfter) || (best != nil && !r.NotBefore.After(best.NotBefore)) {
			continue
		}
		best = r.Certificate
	}
	return best
}

// enforcementOutput is what ca-get-revocation-enforcement/v1 prints.
type enforcementOutput struct {
	CertAuthFlags *int   `json:"ikev2_cert_auth_flags"`
	IKEv2Enforced bool   `json:"ikev2_enforced"`
	Level         string `json:"ipsec_cert_validation_level"`
}

func getRevocationEnforcement(c *Cluster, in call) (any, error) {
	if err := decodeInput(in.input, &struct{}{}); err != nil {
		return nil, err
	}
	st := c.revocationOf(in.server)
	flags := st.settings.CertAuthFlags
	return enforcementOutput{CertAuthFlags: flags, IKEv2Enforced: flags != nil && *flags == 4, Level: st.settings.level()}, nil
}

func flushRevocationCaches(c *Cluster, in call) (any, error) {
	if err := decodeInput(in.input, &struct{}{}); err != nil {
		return nil, err
	}
	c.flushRevocationCaches(in.server)
	return map[string]bool{"url_cache_deleted": true, "chain_cache_resync": true}, nil
}

// RevocationCached reports whether a server's cached CRL lists a serial (enterpriseca.SerialText form), and whether
// it has a CRL cached at all, for tests that look at the server's side.
func (c *Cluster) RevocationCached(server, serial string) (listed, cached bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.revocationOf(server)
	if st == nil || st.crl == nil {
		return false, false
	}
	for _, e := range st.crl.RevokedCertificateEntries {
		if enterpriseca.SerialText(e.SerialNumber) == strings.ToUpper(serial) {
			return true, true
		}
	}
	return false, true
}
