package cluster

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
)

// The CA scripts (internal/remoteaccess/scripts/CONTRACT.md, section 3) reach the lab's enterprise CA from any
// server, as ICertView2 and ICertAdmin2 reach the CA named by their config string from any machine with the CA's
// administration tools (internal/lab/WINDOWS.md, Enterprise CA).

// caFaults are the CA's fault switches.
type caFaults struct {
	unreachable  bool // the CA's host or service does not answer (RPC_S_SERVER_UNAVAILABLE)
	accessDenied bool // the account lacks "Issue and Manage Certificates": revoke, unrevoke and publish are refused
	// outageAfter, when positive, counts the revoke, unrevoke and publish operations still served before the CA
	// becomes unreachable: an outage in the middle of an apply, at a point a test chooses without racing it.
	outageAfter int
	// readBackFailures counts the coming revokes and unrevokes that change a certificate and then fail their
	// read-back (FailCAReadBacks).
	readBackFailures int
}

// SetCAFaults turns the CA's fault switches on or off.
func (c *Cluster) SetCAFaults(unreachable, accessDenied bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.caFaults = caFaults{unreachable: unreachable, accessDenied: accessDenied}
}

// SetCAOutageAfter makes the CA unreachable once it has served n more revoke, unrevoke or publish operations; 0
// cancels a pending outage. SetCAFaults ends the outage.
func (c *Cluster) SetCAOutageAfter(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.caFaults.outageAfter = n
}

// FailCAReadBacks makes the next n revokes or unrevokes that change a certificate change it in the CA's database and
// then fail as the scripts do when reading the row back fails after ICertAdmin::RevokeCertificate returned (the CA's
// RPC endpoint gone between the two calls), or when RevokeCertificate fails after the CA carried it out (the RPC call
// failed on its way back): ReadError on serial (CONTRACT.md section 3). RevokeCertificate's page documents S_OK as
// success and nothing of either case, so the change stands. 0 cancels; SetCAFaults does too.
func (c *Cluster) FailCAReadBacks(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.caFaults.readBackFailures = n
}

// CAReadBackFailures returns how many of the read-back failures FailCAReadBacks asked for are still to come.
func (c *Cluster) CAReadBackFailures() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caFaults.readBackFailures
}

// CAFaults returns the CA's fault switches.
func (c *Cluster) CAFaults() (unreachable, accessDenied bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.caFaults.unreachable, c.caFaults.accessDenied
}

type (
	caListInput struct {
		Config    string   `json:"config"`
		Requester string   `json:"requester"`
		Templates []string `json:"templates"`
	}
	caRevokeInput struct {
		Config string `json:"config"`
		Serial string `json:"serial"`
		Reason int    `json:"reason"`
	}
	caSerialInput struct {
		Config string `json:"config"`
		Serial string `json:"serial"`
	}
	caStatesInput struct {
		Config  string   `json:"config"`
		Serials []string `json:"serials"`
	}
	caConfigInput struct {
		Config string `json:"config"`
	}
	caCertificate struct {
		Serial           string `json:"serial"`
		Requester        string `json:"requester"`
		Template         string `json:"template"`
		NotAfter         string `json:"not_after"`
		Disposition      int    `json:"disposition"`
		RevocationReason int    `json:"revocation_reason"`
		RevokedAt        string `json:"revoked_at"`
	}
	caChange struct {
		Changed     bool          `json:"changed"`
		Certificate caCertificate `json:"certificate"`
	}
)

// The messages Windows gives for the COM failures the scripts map (CONTRACT.md section 3).
const (
	msgUnavailable  = "CCertView::OpenConnection: The RPC server is unavailable. 0x800706ba (WIN32: 1722 RPC_S_SERVER_UNAVAILABLE)"
	msgAccessDenied = "CCertAdmin::RevokeCertificate: Access is denied. 0x80070005 (WIN32: 5 E_ACCESSDENIED)"
)

// authority checks the config and the fault switches; manage says the operation needs "Issue and Manage
// Certificates".
func (c *Cluster) authority(config string, manage bool) (*enterpriseca.Authority, error) {
	if !strings.Contains(config, `\`) {
		return nil, invalidArgument("config", `config must be HOST\CA name`)
	}
	a := c.opts.Authority
	if a == nil || c.caFaults.unreachable || !strings.EqualFold(config, a.Config()) {
		return nil, &scriptError{Category: "ResourceUnavailable", Target: config, Message: msgUnavailable}
	}
	if manage && c.caFaults.accessDenied {
		return nil, &scriptError{Category: "PermissionDenied", Target: config, Message: msgAccessDenied}
	}
	if manage && c.caFaults.outageAfter > 0 {
		c.caFaults.outageAfter--
		c.caFaults.unreachable = c.caFaults.outageAfter == 0
	}
	return a, nil
}

func caRow(r enterpriseca.Row, template string) caCertificate {
	out := caCertificate{Serial: r.Serial, Requester: r.Requester, Template: template,
		NotAfter: r.NotAfter.UTC().Format(time.RFC3339Nano), Disposition: r.Disposition}
	if r.Disposition == enterpriseca.DispositionRevoked {
		out.RevocationReason, out.RevokedAt = r.RevocationReason, r.RevokedAt.UTC().Format(time.RFC3339Nano)
	}
	return out
}

func caGetCertificates(c *Cluster, in call) (any, error) {
	var req caListInput
	if err := decodeInput(in.input, &req); err != nil {
		return nil, err
	}
	a, err := c.authority(req.Config, false)
	if err != nil {
		return nil, err
	}
	if req.Requester == "" {
		return nil, invalidArgument("requester", "requester must be given")
	}
	certs := []caCertificate{}
	for _, r := range a.Rows(req.Requester, req.Templates) {
		template := r.Template
		for _, t := range req.Templates {
			if strings.EqualFold(t, r.Template) {
				template = t // the name given, as the script prints it
			}
		}
		certs = append(certs, caRow(r, template))
	}
	return map[string]any{"certificates": certs}, nil
}

// caGetCertificateStates reads rows by serial number, leaving out the serials the CA does not have, as the script's
// Read-CARow and its ObjectNotFound do.
func caGetCertificateStates(c *Cluster, in call) (any, error) {
	var req caStatesInput
	if err := decodeInput(in.input, &req); err != nil {
		return nil, err
	}
	a, err := c.authority(req.Config, false)
	if err != nil {
		return nil, err
	}
	if len(req.Serials) == 0 || slices.Contains(req.Serials, "") {
		return nil, invalidArgument("serials", "serials must name at least one serial number, none empty")
	}
	certs := []caCertificate{}
	for _, serial := range req.Serials {
		if r, err := a.Row(serial); err == nil {
			certs = append(certs, caRow(r, r.Template))
		}
	}
	return map[string]any{"certificates": certs}, nil
}

func caRevoke(c *Cluster, in call) (any, error) {
	var req caRevokeInput
	if err := decodeInput(in.input, &req); err != nil {
		return nil, err
	}
	if err := checkRevokeInput(req); err != nil {
		return nil, err
	}
	a, err := c.authority(req.Config, true)
	if err != nil {
		return nil, err
	}
	before, err := a.Row(req.Serial)
	if err != nil {
		return nil, notFound(req.Serial)
	}
	after, err := a.Revoke(req.Serial, req.Reason)
	if err != nil {
		return nil, invalidArgument("reason", "%v", err)
	}
	changed := before.Disposition != after.Disposition || before.RevocationReason != after.RevocationReason
	if changed {
		if err := c.readBack(req.Serial); err != nil {
			return nil, err
		}
	}
	return caChange{Changed: changed, Certificate: caRow(after, after.Template)}, nil
}

// readBack is the scripts' read of the row after a change: the fault of FailCAReadBacks, or nothing.
func (c *Cluster) readBack(serial string) error {
	if c.caFaults.readBackFailures <= 0 {
		return nil
	}
	c.caFaults.readBackFailures--
	return &scriptError{Category: "ReadError", Target: "serial",
		Message: "the CA accepted the change of certificate " + serial + ", but reading it back failed: " + msgUnavailable}
}

func checkRevokeInput(req caRevokeInput) error {
	if req.Serial == "" {
		return invalidArgument("serial", "serial must be given")
	}
	switch req.Reason {
	case 0, 1, 3, 4, 5, 6:
		return nil
	}
	return invalidArgument("reason", "reason %d is not 0, 1, 3, 4, 5 or 6", req.Reason)
}

func caUnrevoke(c *Cluster, in call) (any, error) {
	var req caSerialInput
	if err := decodeInput(in.input, &req); err != nil {
		return nil, err
	}
	if req.Serial == "" {
		return nil, invalidArgument("serial", "serial must be given")
	}
	a, err := c.authority(req.Config, true)
	if err != nil {
		return nil, err
	}
	row, err := a.Revoke(req.Serial, enterpriseca.ReasonUnrevoke)
	switch {
	case errors.Is(err, enterpriseca.ErrNotFound):
		return nil, notFound(req.Serial)
	case errors.Is(err, enterpriseca.ErrNotOnHold):
		return nil, &scriptError{Category: "InvalidOperation", Target: "serial", Message: "certificate " + row.Serial +
			" is revoked with a permanent reason: only a hold (reason 6) can be undone"}
	case errors.Is(err, enterpriseca.ErrNotRevoked):
		return caChange{Changed: false, Certificate: caRow(row, row.Template)}, nil
	case err != nil:
		return nil, err
	}
	if err := c.readBack(req.Serial); err != nil {
		return nil, err
	}
	return caChange{Changed: true, Certificate: caRow(row, row.Template)}, nil
}

func caPublishCRL(c *Cluster, in call) (any, error) {
	var req caConfigInput
	if err := decodeInput(in.input, &req); err != nil {
		return nil, err
	}
	a, err := c.authority(req.Config, true)
	if err != nil {
		return nil, err
	}
	if err := a.PublishCRL(); err != nil {
		return nil, err
	}
	return map[string]bool{"base_published": true, "delta_published": a.DeltaEnabled()}, nil
}

func notFound(serial string) error {
	return &scriptError{Category: "ObjectNotFound", Target: "serial", Message: "the CA has no certificate with serial number " + serial}
}
