package ldapserver

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"net"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/labtls"
)

// newAuthority returns the CA that issues the domain controllers' server certificates: the given one (WithCA)
// or a new one.
func newAuthority(cert *x509.Certificate, key crypto.Signer) (*labtls.CA, error) {
	if cert != nil && key != nil {
		return labtls.FromKeyPair(cert, key), nil
	}
	return labtls.NewCA("Remote Access Lab CA")
}

// serverTLS returns a TLS configuration with a certificate for the DC's
// host name, the domain name and the loopback addresses.
func serverTLS(ca *labtls.CA, hostNames ...string) (*tls.Config, error) {
	cert, err := ca.Issue(hostNames[0], append(hostNames, "localhost"), []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback})
	if err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil
}
