package lab

import (
	"crypto/tls"
	"net"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/labtls"
)

// newAuthority creates the lab-wide CA: it signs every WinRM server's certificate and, through ldapserver.WithCA,
// the directory's, so that one PEM in Info verifies the whole lab.
func newAuthority() (*labtls.CA, error) { return labtls.NewCA("Remote Access lab CA") }

// serverTLS issues a server certificate for a host name and the address clients connect to: the provider
// verifies the loopback IP it dials, so the IP must be a SAN, not only the names.
func serverTLS(ca *labtls.CA, commonName string, dnsNames []string, ip net.IP) (*tls.Config, error) {
	cert, err := ca.Issue(commonName, dnsNames, []net.IP{ip})
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"}, // NTLM authenticates HTTP/1.1 connections
	}, nil
}
