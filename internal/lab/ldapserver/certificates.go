package ldapserver

import "fmt"

// PublishCertificate adds a DER certificate to an account's userCertificate, as an enterprise CA does for templates
// that publish to Active Directory (internal/lab/WINDOWS.md, Enterprise CA).
func (d *Directory) PublishCertificate(samAccountName string, der []byte) error {
	e, ok := d.store.bySAMAccountName(samAccountName)
	if !ok {
		return fmt.Errorf("publish certificate: no account %q", samAccountName)
	}
	return d.store.update(e.ndn, func(cur *entry) (*entry, error) {
		return cur.with("userCertificate", append(cur.get("userCertificate"), string(der))...), nil
	})
}
