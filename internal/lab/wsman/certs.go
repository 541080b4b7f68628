package wsman

import (
	"crypto/tls"
	"net"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/labtls"
)

// certificates is a private CA and the server certificate it signed, so that clients can verify the lab
// with a CA bundle instead of switching verification off.
type certificates struct {
	caPEM  []byte
	server tls.Certificate
}

func newCertificates(commonName string, dnsNames []string) (*certificates, error) {
	ca, err := labtls.NewCA("Remote Access lab CA")
	if err != nil {
		return nil, err
	}
	server, err := ca.Issue(commonName, append([]string{"localhost"}, dnsNames...), []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	if err != nil {
		return nil, err
	}
	return &certificates{caPEM: ca.CertPEM(), server: server}, nil
}
