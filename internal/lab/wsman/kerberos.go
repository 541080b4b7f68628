package wsman

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jcmturner/gofork/encoding/asn1"
	"github.com/jcmturner/gokrb5/v8/gssapi"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/service"
	"github.com/jcmturner/gokrb5/v8/spnego"
)

// KerberosOptions let the server accept Kerberos logons (HTTP Negotiate carrying SPNEGO, or the bare Kerberos
// scheme), as a domain member does with the keys of its service principal. The keys come from a keytab that the
// domain exported (e.g. `samba-tool domain exportkeytab --principal=HTTP/...`), so tickets are real tickets
// from the domain's KDC and the client side of WinRM Kerberos is exercised for real.
type KerberosOptions struct {
	Keytab *keytab.Keytab
	// Realm is the realm whose principals may log on, e.g. SAMBA.TEST.
	Realm string
	// KeytabPrincipal names the keytab entry that decrypts tickets, when it is not the ticket's service name
	// (a keytab of the service account's own name serves every SPN of that account, as in AD).
	KeytabPrincipal string
	// MaxClockSkew between client and server; default 5 minutes, as in AD.
	MaxClockSkew time.Duration
}

type kerberosAcceptor struct {
	realm    string
	settings *service.Settings
}

func newKerberosAcceptor(opts KerberosOptions) (*kerberosAcceptor, error) {
	if opts.Keytab == nil || len(opts.Keytab.Entries) == 0 {
		return nil, errors.New("wsman: Kerberos needs a keytab with the service principal's keys")
	}
	if opts.Realm == "" {
		return nil, errors.New("wsman: Kerberos needs the realm of the accounts that may log on")
	}
	if opts.MaxClockSkew <= 0 {
		opts.MaxClockSkew = 5 * time.Minute
	}
	settings := []func(*service.Settings){service.MaxClockSkew(opts.MaxClockSkew)}
	if opts.KeytabPrincipal != "" {
		settings = append(settings, service.KeytabPrincipal(opts.KeytabPrincipal))
	}
	return &kerberosAcceptor{realm: opts.Realm, settings: service.NewSettings(opts.Keytab, settings...)}, nil
}

// kerberosLogon is who a verified ticket speaks for.
type kerberosLogon struct {
	user, realm   string
	netBIOSDomain string // from the ticket's PAC, "" when it has none
}

// accept verifies the AP-REQ in a SPNEGO NegTokenInit or a bare GSS-API Kerberos token: the ticket must decrypt
// with the service key, the authenticator must be fresh and not a replay, and the client must be of the realm.
func (k *kerberosAcceptor) accept(token []byte) (kerberosLogon, error) {
	apReq, err := apRequest(token)
	if err != nil {
		return kerberosLogon{}, err
	}
	ok, creds, err := service.VerifyAPREQ(apReq, k.settings)
	if err != nil || !ok {
		return kerberosLogon{}, fmt.Errorf("kerberos: the AP-REQ does not verify: %w", err)
	}
	if !strings.EqualFold(creds.Domain(), k.realm) {
		return kerberosLogon{}, fmt.Errorf("kerberos: %s@%s is not of realm %s", creds.UserName(), creds.Domain(), k.realm)
	}
	logon := kerberosLogon{user: creds.UserName(), realm: creds.Domain()}
	if ad := creds.GetADCredentials(); ad.LogonDomainName != "" {
		logon.netBIOSDomain = ad.LogonDomainName
	}
	return logon, nil
}

func apRequest(token []byte) (*messages.APReq, error) {
	mechToken := token
	var negotiation spnego.SPNEGOToken
	if err := negotiation.Unmarshal(token); err == nil {
		if !negotiation.Init || !offersKerberos(negotiation.NegTokenInit.MechTypes) {
			return nil, errors.New("kerberos: the SPNEGO token offers no Kerberos mechanism")
		}
		mechToken = negotiation.NegTokenInit.MechTokenBytes
	}
	var krb5 spnego.KRB5Token
	if err := krb5.Unmarshal(mechToken); err != nil {
		return nil, fmt.Errorf("kerberos: not a Kerberos token: %w", err)
	}
	if !krb5.IsAPReq() {
		return nil, errors.New("kerberos: the token carries no AP-REQ")
	}
	return &krb5.APReq, nil
}

func offersKerberos(mechs []asn1.ObjectIdentifier) bool {
	for _, m := range mechs {
		if m.Equal(gssapi.OIDKRB5.OID()) || m.Equal(gssapi.OIDMSLegacyKRB5.OID()) {
			return true
		}
	}
	return false
}
