package directory

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// PublishedCertificate is one certificate in a computer's userCertificate, where an enterprise CA puts the
// certificates of templates that publish to Active Directory: a second source, besides the CA's database, of the
// device's certificates.
type PublishedCertificate struct {
	Serial   string // upper-case hexadecimal, as the CA prints it
	Issuer   string // the issuing CA's common name
	Template string // the template name (version 1 templates) or OID (version 2 and later); empty when absent
	NotAfter time.Time
	Subject  string
}

// OIDs of the template extensions AD CS writes: the name of a version 1 template (szOID_ENROLL_CERTTYPE_EXTENSION,
// a BMPString) and the template information of later versions (szOID_CERTIFICATE_TEMPLATE, whose first field is
// the template's OID).
var (
	oidTemplateName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2}
	oidTemplateInfo = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 21, 7}
)

// PublishedCertificates reads the certificates in acct's userCertificate. Values that are not certificates are
// skipped: the attribute is free for other tools to write.
func (c *Client) PublishedCertificates(ctx context.Context, acct Account) ([]PublishedCertificate, error) {
	if acct.DN == "" {
		return nil, &ValidationError{Field: "account", Reason: "no DN (look the account up first)"}
	}
	entries, err := c.search(ctx, ldap.NewSearchRequest(acct.DN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=computer)", []string{"userCertificate"}, nil))
	if err != nil {
		return nil, fmt.Errorf("reading userCertificate of %s: %w", acct.DN, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, acct.DN)
	}
	var out []PublishedCertificate
	for _, der := range entries[0].GetRawAttributeValues("userCertificate") {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			continue
		}
		out = append(out, PublishedCertificate{Serial: strings.ToUpper(cert.SerialNumber.Text(16)), Issuer: cert.Issuer.CommonName,
			Template: templateOf(cert), NotAfter: cert.NotAfter, Subject: cert.Subject.CommonName})
	}
	return out, nil
}

// templateOf reads the template a certificate was issued from.
func templateOf(cert *x509.Certificate) string {
	for _, e := range cert.Extensions {
		switch {
		case e.Id.Equal(oidTemplateName):
			var raw asn1.RawValue
			if _, err := asn1.Unmarshal(e.Value, &raw); err == nil && raw.Tag == asn1.TagBMPString && len(raw.Bytes)%2 == 0 {
				units := make([]uint16, len(raw.Bytes)/2)
				for i := range units {
					units[i] = uint16(raw.Bytes[2*i])<<8 | uint16(raw.Bytes[2*i+1])
				}
				return string(utf16.Decode(units))
			}
		case e.Id.Equal(oidTemplateInfo):
			var info struct {
				Template     asn1.ObjectIdentifier
				Major, Minor int `asn1:"optional"`
			}
			if _, err := asn1.Unmarshal(e.Value, &info); err == nil {
				return info.Template.String()
			}
		}
	}
	return ""
}
