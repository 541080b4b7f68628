package labtls

import (
	"crypto/x509"
	"net"
	"testing"
)

func TestIssueVerifiesAgainstCA(t *testing.T) {
	ca, err := NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca.CertPEM()) {
		t.Fatal("CertPEM holds no certificate")
	}
	if !ca.Certificate().IsCA || ca.Signer() == nil {
		t.Fatal("not a CA with a key")
	}
	cert, err := ca.Issue("host.example.test", []string{"host.example.test", "host"}, []net.IP{net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(cert.Certificate) != 2 || string(cert.Certificate[1]) != string(ca.Certificate().Raw) {
		t.Fatal("chain does not end with the CA certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"host", "127.0.0.2"} {
		opts := x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("verify %s: %v", name, err)
		}
	}
	other, err := NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: x509.NewCertPool(), DNSName: "host"}); err == nil {
		t.Error("verified without the CA")
	}
	if got := FromKeyPair(other.Certificate(), other.Signer()); string(got.CertPEM()) != string(other.CertPEM()) {
		t.Error("FromKeyPair changed the certificate")
	}
}
