// Package enterpriseca is the lab's enterprise certification authority: real X.509 device certificates made with
// crypto/x509, a certificate database shaped like the AD CS one (requester, template, disposition, revocation
// reason and date), and real DER CRLs served over HTTP at the distribution point the certificates name. It
// follows Microsoft's ICertAdmin::RevokeCertificate rules: only a certificate on hold (reason 6) can be unrevoked,
// and a revocation reaches relying parties only through the next published CRL (internal/lab/WINDOWS.md,
// Enterprise CA).
package enterpriseca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// Dispositions of a database row, as the AD CS database's Disposition column stores them.
const (
	DispositionIssued  = 20
	DispositionRevoked = 21
)

// Revocation reasons (RFC 5280 CRLReason; ICertAdmin::RevokeCertificate). ReasonUnrevoke undoes a hold.
const (
	ReasonUnspecified          = 0
	ReasonKeyCompromise        = 1
	ReasonAffiliationChanged   = 3
	ReasonSuperseded           = 4
	ReasonCessationOfOperation = 5
	ReasonCertificateHold      = 6
	ReasonUnrevoke             = -1
)

// Errors of the database operations.
var (
	ErrNotFound   = errors.New("no certificate with this serial number")
	ErrNotOnHold  = errors.New("only a certificate on hold (reason 6) can be unrevoked")
	ErrBadReason  = errors.New("not a revocation reason this CA accepts")
	ErrNotRevoked = errors.New("the certificate is not revoked")
)

// DefaultCRLPeriod is the base CRL's validity, as an AD CS CA's default CRLPeriod of one week.
const DefaultCRLPeriod = 7 * 24 * time.Hour

// Options configure an Authority.
type Options struct {
	// Config is the CA's configuration string, "host\CA name" (e.g. ca1.corp.example\Corp Issuing CA).
	Config string
	// CDPURL is the HTTP URL the certificates name as their CRL distribution point; DeltaURL the delta CRL's.
	CDPURL, DeltaURL string
	// CRLPeriod is how long a published base CRL is valid (default DefaultCRLPeriod); DeltaPeriod a delta's
	// (0: the CA publishes no delta CRLs).
	CRLPeriod, DeltaPeriod time.Duration
	// Clock returns the current time (default time.Now).
	Clock func() time.Time
}

// Row is one certificate in the database.
type Row struct {
	Serial           string // upper-case hex, as certutil and ICertView print it
	Requester        string // DOMAIN\NAME$
	Template         string
	NotBefore        time.Time
	NotAfter         time.Time
	Disposition      int
	RevocationReason int // meaningful when Disposition is DispositionRevoked
	RevokedAt        time.Time
	Certificate      *x509.Certificate
}

// Authority is a running enterprise CA. All methods are safe for concurrent use.
type Authority struct {
	opts Options
	cert *x509.Certificate
	key  crypto.Signer

	mu        sync.Mutex
	rows      []*Row
	crlNumber int64
	base      []byte // the last published base CRL (DER)
	baseRows  map[string]bool
	delta     []byte // the last published delta CRL (DER), nil without deltas
}

// New creates a CA with its own self-signed certificate and publishes its first CRL.
func New(opts Options) (*Authority, error) {
	if _, name, ok := strings.Cut(opts.Config, `\`); !ok || name == "" {
		return nil, fmt.Errorf("enterprise CA: config %q is not host\\CA name", opts.Config)
	}
	if opts.CRLPeriod <= 0 {
		opts.CRLPeriod = DefaultCRLPeriod
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("enterprise CA key: %w", err)
	}
	a := &Authority{opts: opts, key: key}
	if a.cert, err = a.selfSign(); err != nil {
		return nil, err
	}
	if err := a.PublishCRL(); err != nil {
		return nil, err
	}
	return a, nil
}

// Config returns the CA's configuration string.
func (a *Authority) Config() string { return a.opts.Config }

// Name returns the CA's common name, the part of the config after the backslash.
func (a *Authority) Name() string {
	_, name, _ := strings.Cut(a.opts.Config, `\`)
	return name
}

// Certificate returns the CA certificate.
func (a *Authority) Certificate() *x509.Certificate { return a.cert }

func (a *Authority) selfSign() (*x509.Certificate, error) {
	now := a.opts.Clock()
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: a.Name(), Organization: []string{"remoteaccess-iac lab"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(5 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, a.key.Public(), a.key)
	if err != nil {
		return nil, fmt.Errorf("enterprise CA certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// newSerial returns a positive random serial of 16 bytes, the shape AD CS serials have.
func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return serial.Add(serial, new(big.Int).Lsh(big.NewInt(1), 120)), nil
}

// Issue signs a certificate for a computer of the domain (sAMAccountName NAME$, requester DOMAIN\NAME$) from a
// template, valid for lifetime, with the computer's FQDN as subject and DNS name, and records it as issued.
func (a *Authority) Issue(requester, fqdn, template string, lifetime time.Duration) (Row, error) {
	serial, err := newSerial()
	if err != nil {
		return Row{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Row{}, err
	}
	now := a.opts.Clock()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fqdn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(lifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		CRLDistributionPoints: []string{a.opts.CDPURL},
	}
	tmpl.ExtraExtensions = []pkix.Extension{{Id: oidCertificateTemplateName, Value: bmpString(template)}}
	if isASCII(fqdn) {
		tmpl.DNSNames = []string{fqdn} // a DNS SAN is IA5 text; a non-ASCII name stays in the subject only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, key.Public(), a.key)
	if err != nil {
		return Row{}, fmt.Errorf("issue %s for %s: %w", template, requester, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return Row{}, err
	}
	row := &Row{Serial: SerialText(cert.SerialNumber), Requester: requester, Template: template,
		NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, Disposition: DispositionIssued, Certificate: cert}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rows = append(a.rows, row)
	return *row, nil
}

// oidCertificateTemplateName is the certificate template name extension (szOID_ENROLL_CERTTYPE_EXTENSION), a
// BMPString, which AD CS puts in certificates of version 1 templates.
var oidCertificateTemplateName = []int{1, 3, 6, 1, 4, 1, 311, 20, 2}

// bmpString encodes text as an ASN.1 BMPString (tag 30, UTF-16BE).
func bmpString(s string) []byte {
	units := utf16.Encode([]rune(s))
	body := make([]byte, 2*len(units))
	for i, u := range units {
		binary.BigEndian.PutUint16(body[2*i:], u)
	}
	der, _ := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagBMPString, Bytes: body})
	return der
}

func isASCII(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r > 0x7e })
}

// SerialText prints a serial as AD CS does: upper-case hex without separators.
func SerialText(n *big.Int) string { return strings.ToUpper(n.Text(16)) }

// normalSerial compares serials as certutil accepts them: case and spaces do not matter.
func normalSerial(s string) string { return strings.ToUpper(strings.ReplaceAll(s, " ", "")) }

// Rows returns the database rows of a requester (case-insensitive), restricted to templates when any are given;
// an empty requester returns every row.
func (a *Authority) Rows(requester string, templates []string) []Row {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Row
	for _, r := range a.rows {
		if requester != "" && !strings.EqualFold(r.Requester, requester) {
			continue
		}
		if len(templates) > 0 && !slices.ContainsFunc(templates, func(t string) bool { return strings.EqualFold(t, r.Template) }) {
			continue
		}
		out = append(out, *r)
	}
	return out
}

// Row returns one row by serial.
func (a *Authority) Row(serial string) (Row, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.find(serial)
	if r == nil {
		return Row{}, ErrNotFound
	}
	return *r, nil
}

func (a *Authority) find(serial string) *Row {
	want := normalSerial(serial)
	for _, r := range a.rows {
		if r.Serial == want {
			return r
		}
	}
	return nil
}

// Revoke revokes a certificate with a reason, or with ReasonUnrevoke takes it off hold. As on AD CS, a hold can be
// changed to a permanent reason, a permanent revocation cannot be changed or undone, and unrevoking applies to a
// certificate on hold only. The change reaches relying parties with the next PublishCRL.
func (a *Authority) Revoke(serial string, reason int) (Row, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.find(serial)
	if r == nil {
		return Row{}, ErrNotFound
	}
	switch {
	case reason == ReasonUnrevoke:
		if r.Disposition != DispositionRevoked {
			return *r, ErrNotRevoked
		}
		if r.RevocationReason != ReasonCertificateHold {
			return *r, ErrNotOnHold
		}
		r.Disposition, r.RevocationReason, r.RevokedAt = DispositionIssued, 0, time.Time{}
	case !validReason(reason):
		return *r, ErrBadReason
	case r.Disposition == DispositionRevoked && r.RevocationReason != ReasonCertificateHold:
		// permanently revoked: nothing changes
	case r.Disposition == DispositionRevoked && reason == ReasonCertificateHold:
		// held already: the hold keeps its time, as ca-revoke.ps1 calls RevokeCertificate only to change a row
	default:
		r.Disposition, r.RevocationReason, r.RevokedAt = DispositionRevoked, reason, a.opts.Clock()
	}
	return *r, nil
}

func validReason(reason int) bool {
	switch reason {
	case ReasonUnspecified, ReasonKeyCompromise, ReasonAffiliationChanged, ReasonSuperseded, ReasonCessationOfOperation,
		ReasonCertificateHold:
		return true
	}
	return false
}

// DeltaEnabled says whether the CA publishes delta CRLs.
func (a *Authority) DeltaEnabled() bool { return a.opts.DeltaPeriod > 0 }

// PublishCRL publishes a new base CRL (and a delta CRL when the CA publishes deltas) with the next CRL number.
func (a *Authority) PublishCRL() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.crlNumber++
	now := a.opts.Clock()
	revoked := a.revokedEntries()
	base, err := a.signCRL(revoked, a.crlNumber, now, a.opts.CRLPeriod, nil)
	if err != nil {
		return err
	}
	a.base = base
	a.baseRows = map[string]bool{}
	for _, e := range revoked {
		a.baseRows[SerialText(e.SerialNumber)] = true
	}
	if a.DeltaEnabled() {
		a.crlNumber++
		// Right after a base, the delta lists nothing new: it carries the base's number (RFC 5280 5.2.4).
		if a.delta, err = a.signCRL(nil, a.crlNumber, now, a.opts.DeltaPeriod, big.NewInt(a.crlNumber-1)); err != nil {
			return err
		}
	}
	return nil
}

// PublishDelta publishes a delta CRL that lists the revocations since the last base CRL, and the holds released
// since then with reason removeFromCRL (RFC 5280 5.3.1).
func (a *Authority) PublishDelta() error {
	if !a.DeltaEnabled() {
		return errors.New("this CA publishes no delta CRLs")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var entries []x509.RevocationListEntry
	listed := map[string]bool{}
	for _, e := range a.revokedEntries() {
		listed[SerialText(e.SerialNumber)] = true
		if !a.baseRows[SerialText(e.SerialNumber)] {
			entries = append(entries, e)
		}
	}
	now := a.opts.Clock()
	for serial := range a.baseRows {
		if !listed[serial] {
			n, _ := new(big.Int).SetString(serial, 16)
			entries = append(entries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: now, ReasonCode: 8})
		}
	}
	baseNumber := a.baseNumber()
	a.crlNumber++
	delta, err := a.signCRL(entries, a.crlNumber, now, a.opts.DeltaPeriod, big.NewInt(baseNumber))
	if err == nil {
		a.delta = delta
	}
	return err
}

// baseNumber reads the CRL number of the last base CRL.
func (a *Authority) baseNumber() int64 {
	crl, err := x509.ParseRevocationList(a.base)
	if err != nil {
		return 0
	}
	return crl.Number.Int64()
}

func (a *Authority) revokedEntries() []x509.RevocationListEntry {
	var entries []x509.RevocationListEntry
	for _, r := range a.rows {
		if r.Disposition != DispositionRevoked {
			continue
		}
		entries = append(entries, x509.RevocationListEntry{SerialNumber: r.Certificate.SerialNumber,
			RevocationTime: r.RevokedAt, ReasonCode: r.RevocationReason})
	}
	return entries
}

func asn1Integer(n *big.Int) ([]byte, error) { return asn1.Marshal(n) }

// oidDeltaCRLIndicator marks a delta CRL and names its base CRL's number (RFC 5280 5.2.4).
var oidDeltaCRLIndicator = []int{2, 5, 29, 27}

func (a *Authority) signCRL(entries []x509.RevocationListEntry, number int64, now time.Time, period time.Duration, deltaOf *big.Int) ([]byte, error) {
	tmpl := &x509.RevocationList{
		RevokedCertificateEntries: entries,
		Number:                    big.NewInt(number),
		ThisUpdate:                now,
		NextUpdate:                now.Add(period),
	}
	if deltaOf != nil {
		value, err := asn1Integer(deltaOf)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: oidDeltaCRLIndicator, Critical: true, Value: value}}
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, a.cert, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign CRL %d: %w", number, err)
	}
	return der, nil
}

// CRL returns the last published base CRL (DER).
func (a *Authority) CRL() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.base)
}

// DeltaCRL returns the last published delta CRL (DER), nil when the CA publishes none.
func (a *Authority) DeltaCRL() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.delta)
}
