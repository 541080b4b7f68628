package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
)

// DefaultCAName is the lab enterprise CA's name; its config string is "ca1.<domain>\<name>".
const DefaultCAName = "Corp Issuing CA"

// deviceCertificateLifetime is a device certificate's validity, a year as the Workstation template's default.
const deviceCertificateLifetime = 365 * 24 * time.Hour

// maxCRLSize bounds a CRL a server downloads.
const maxCRLSize = 1 << 20

// cdp is the lab CA's HTTP distribution point (as the CA's /CertEnroll virtual directory on IIS).
type cdp struct {
	http *http.Server
	url  string
}

// startEnterpriseCA creates the lab's enterprise CA and serves its CRLs over HTTP on 127.0.0.1.
func (l *Lab) startEnterpriseCA(cfg Config, domain cluster.Domain) (*enterpriseca.Authority, error) {
	config := cfg.CertificateAuthority
	if config == "" {
		config = "ca1." + strings.ToLower(domain.DNSName) + `\` + DefaultCAName
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("lab CA distribution point: %w", err)
	}
	_, name, _ := strings.Cut(config, `\`)
	base := "http://" + ln.Addr().String() + "/CertEnroll/" + url.PathEscape(name)
	a, err := enterpriseca.New(enterpriseca.Options{Config: config, CDPURL: base + ".crl", DeltaURL: base + "+.crl",
		CRLPeriod: cfg.CRLPeriod, DeltaPeriod: cfg.CRLDeltaPeriod})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	l.cdp = &cdp{url: base + ".crl", http: &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)}}
	go func() { _ = l.cdp.http.Serve(ln) }()
	l.authority = a
	l.info.CertificateAuthority, l.info.CRLURL = config, l.cdp.url
	return a, nil
}

// issueDeviceCertificates gives every seeded computer its certificates: DirectAccess clients the DirectAccess
// template, device tunnels the AOVPNDeviceTunnel one, and each a Workstation certificate (802.1X in the office).
// With publish (the embedded directory), each is also added to the computer's userCertificate, as templates that
// publish to Active Directory do.
func issueDeviceCertificates(a *enterpriseca.Authority, seed cluster.Seed, publish func(sam string, der []byte) error) error {
	templates := map[string][]string{}
	for _, c := range seed.DirectAccess {
		templates[strings.ToUpper(c.Computer)] = append(templates[strings.ToUpper(c.Computer)], cluster.TemplateDirectAccess)
	}
	for _, v := range seed.VPN {
		if v.Computer != "" {
			templates[strings.ToUpper(v.Computer)] = append(templates[strings.ToUpper(v.Computer)], cluster.TemplateDeviceTunnel)
		}
	}
	for computer, names := range templates {
		requester := seed.Domain.NetBIOSName + `\` + computer + "$"
		fqdn := strings.ToLower(computer) + "." + strings.ToLower(seed.Domain.DNSName)
		for _, t := range uniqueWith(names, cluster.TemplateWorkstation) {
			row, err := a.Issue(requester, fqdn, t, deviceCertificateLifetime)
			if err != nil {
				return err
			}
			if publish == nil {
				continue
			}
			if err := publish(computer+"$", row.Certificate.Raw); err != nil {
				return err
			}
		}
	}
	return nil
}

func uniqueWith(names []string, extra string) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range append(names, extra) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// fetchCRL downloads a CRL as a server does from an HTTP distribution point.
func fetchCRL(ctx context.Context, crlURL string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, crlURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", crlURL, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxCRLSize))
}

// EnterpriseCA returns the lab's enterprise CA.
func (l *Lab) EnterpriseCA() *enterpriseca.Authority { return l.authority }

func (c *cdp) close() error {
	if err := c.http.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// applyCAFaults sets the CA's switches a POST /faults names; reset turns them off first.
func (l *Lab) applyCAFaults(sw faultSwitches) {
	unreachable, denied := l.cluster.CAFaults()
	if sw.Reset {
		unreachable, denied = false, false
	}
	if sw.CAUnreachable != nil {
		unreachable = *sw.CAUnreachable
	}
	if sw.CAAccessDenied != nil {
		denied = *sw.CAAccessDenied
	}
	l.cluster.SetCAFaults(unreachable, denied)
}

// publishCertificate adds a device certificate to the computer's userCertificate in the embedded directory; a
// computer the directory seed lacks gets none.
func (l *Lab) publishCertificate(sam string, der []byte) error {
	if _, ok := l.directory.Lookup(sam); !ok {
		return nil
	}
	return l.directory.PublishCertificate(sam, der)
}
