package winrm_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/samba"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// TestKerberosAgainstSamba runs scripts with tickets from a real KDC (a Samba AD DC): the lab server accepts
// them with the keys of the WinRM servers' shared HTTP/ service principal, exported from Samba as an
// administrator would export them for a keytab-based service.
func TestKerberosAgainstSamba(t *testing.T) {
	dc := samba.Start(t)
	operator := samba.SeedUser(t, "svc-remoteaccess") // may use WinRM
	other := samba.SeedUser(t, "alice")               // a domain user who may not
	service := samba.SeedUser(t, "svc-winrm-http")
	if len(service.SPNs) != 1 {
		t.Fatalf("the seed gives svc-winrm-http SPNs %v; want one HTTP/ name", service.SPNs)
	}
	spn := service.SPNs[0]
	serviceKeys, err := keytab.Load(dc.ExportKeytab(spn))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := wsman.NewServer(wsman.Options{
		Name: "RAS1", Domain: dc.NetBIOSDomain, TLS: true, Executor: echoExecutor{},
		Users:    map[string]string{operator.Name: ""}, // Kerberos only
		Kerberos: &wsman.KerberosOptions{Keytab: serviceKeys, Realm: dc.Realm},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })

	config := func(user samba.SeedAccount) winrm.Config {
		cfg := labConfig(srv)
		cfg.Auth, cfg.Username, cfg.Password = winrm.AuthKerberos, user.Name, user.Password
		cfg.Kerberos = &winrm.KerberosConfig{Realm: dc.Realm, Krb5ConfPath: dc.Krb5Conf, SPN: spn}
		return cfg
	}
	wantUser := dc.NetBIOSDomain + `\` + operator.Name // as the ticket's PAC names the caller

	t.Run("password", func(t *testing.T) {
		before := srv.Counters().KerberosLogons
		if got := runEcho(t, newClient(t, config(operator)), map[string]int{"n": 1}); got.User != wantUser {
			t.Errorf("the script ran as %q, want %q", got.User, wantUser)
		}
		if srv.Counters().KerberosLogons == before {
			t.Error("the server counted no Kerberos logon")
		}
	})
	t.Run("keytab", func(t *testing.T) {
		cfg := config(operator)
		cfg.Password, cfg.Kerberos.KeytabPath = "", dc.ExportKeytab(operator.Name+"@"+dc.Realm)
		cfg.Username = dc.NetBIOSDomain + `\` + operator.Name // the down-level form names the same principal
		if got := runEcho(t, newClient(t, cfg), nil); got.User != wantUser {
			t.Errorf("the script ran as %q, want %q", got.User, wantUser)
		}
	})
	t.Run("parallel runs through one client", func(t *testing.T) {
		// Every request carries a fresh authenticator; none may be taken for a replay.
		c := newClient(t, config(operator))
		var wg sync.WaitGroup
		errs := make(chan error, 24)
		for i := range 24 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got echoResult
				errs <- c.Run(context.Background(), script(t, "echo/v1"), map[string]int{"i": i}, &got)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("refusals are authentication errors", func(t *testing.T) {
		for name, modify := range map[string]func(*winrm.Config){
			"wrong password":                func(c *winrm.Config) { c.Password = "wrong" },
			"user not allowed to use WinRM": func(c *winrm.Config) { *c = config(other) },
			"ticket for another service":    func(c *winrm.Config) { c.Kerberos.SPN = "ldap/" + dc.DCHostName },
			"NTLM for a Kerberos-only account": func(c *winrm.Config) {
				c.Auth, c.Kerberos, c.Username = winrm.AuthNTLM, nil, dc.NetBIOSDomain+`\`+operator.Name
			},
		} {
			t.Run(name, func(t *testing.T) {
				cfg := config(operator)
				modify(&cfg)
				before := srv.Counters().AuthFailures
				err := newClient(t, cfg).Run(context.Background(), script(t, "echo/v1"), nil, nil)
				e := kindError(t, err, winrm.KindAuth)
				if name != "wrong password" && srv.Counters().AuthFailures == before {
					t.Errorf("the server counted no refused logon; error: %v", e)
				}
			})
		}
	})
}
