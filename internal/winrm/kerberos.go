package winrm

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/kerberos"
)

// errKerberos marks Kerberos failures (log-on, service ticket) so that they classify as KindAuth.
var errKerberos = errors.New("kerberos")

const defaultKrb5Conf = "/etc/krb5.conf"

// kerberosAuth sets the SPNEGO header of each request, as the library's ClientKerberos does, and adds the
// keytab log-on that the library lacks. gokrb5 caches the TGT and service tickets in the client.
type kerberosAuth struct {
	spn string
	mu  sync.Mutex // gokrb5 clients are not documented as safe for concurrent log-on
	cl  *krbclient.Client
}

func newKerberosAuth(cfg Config) (*kerberosAuth, error) {
	k := cfg.Kerberos
	confPath := k.Krb5ConfPath
	if confPath == "" {
		confPath = defaultKrb5Conf
	}
	conf, err := krbconfig.Load(confPath)
	if err != nil {
		return nil, fmt.Errorf("winrm: loading Kerberos configuration %s: %w", confPath, err)
	}
	auth := &kerberosAuth{spn: k.SPN}
	if auth.spn == "" {
		auth.spn = "HTTP/" + cfg.Host
	}
	var kt *keytab.Keytab
	if k.KeytabPath != "" {
		if kt, err = keytab.Load(k.KeytabPath); err != nil {
			return nil, fmt.Errorf("winrm: loading keytab %s: %w", k.KeytabPath, err)
		}
	}
	auth.cl = kerberos.NewClient(cfg.Username, k.Realm, cfg.Password, kt, conf)
	return auth, nil
}

func (k *kerberosAuth) authorize(req *http.Request) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := spnego.SetSPNEGOHeader(k.cl, req, k.spn); err != nil {
		return fmt.Errorf("%w: service ticket for %s: %w", errKerberos, k.spn, err)
	}
	return nil
}
