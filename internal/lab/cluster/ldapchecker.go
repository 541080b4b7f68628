package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// accountDisable is the ACCOUNTDISABLE bit of userAccountControl (WINDOWS.md, Active Directory).
const accountDisable = 0x2

// defaultLDAPTimeout bounds a check whose context has no deadline.
const defaultLDAPTimeout = 10 * time.Second

// LDAPChecker reads userAccountControl over LDAP. The same code serves the lab's embedded directory and a real
// Samba AD DC: LDAPS (ldaps://) or StartTLS (ldap://), a simple bind, a search under the root DSE's
// defaultNamingContext. It opens one connection per check: clients re-establish rarely.
type LDAPChecker struct {
	url      string
	startTLS bool
	tls      *tls.Config
	bindUser string
	password string
}

// NewLDAPChecker prepares a checker. caPEM is the CA that signed the directory's certificate (nil: the system
// roots); bindUser may be a DN, user@REALM or DOMAIN\user.
func NewLDAPChecker(rawURL string, caPEM []byte, bindUser, password string) (*LDAPChecker, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("directory URL: %w", err)
	}
	if u.Scheme != "ldaps" && u.Scheme != "ldap" {
		return nil, fmt.Errorf("directory URL %q: scheme must be ldaps or ldap (StartTLS)", rawURL)
	}
	cfg := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("directory CA: no certificate in PEM")
		}
	}
	return &LDAPChecker{url: rawURL, startTLS: u.Scheme == "ldap", tls: cfg, bindUser: bindUser, password: password}, nil
}

// AccountEnabled reports whether the account exists and its ACCOUNTDISABLE bit is clear. An account that does not
// exist cannot authenticate, so it is reported as not enabled.
func (l *LDAPChecker) AccountEnabled(ctx context.Context, sAMAccountName string) (bool, error) {
	enabled, err := l.AccountsEnabled(ctx, []string{sAMAccountName})
	return enabled[sAMAccountName], err
}

// accountsPerSearch bounds the accounts one search asks for, so that a filter stays well within the directory's
// limits on request size.
const accountsPerSearch = 100

// AccountsEnabled is AccountEnabled for many accounts over one connection, a search per hundred of them: with
// hundreds of blocked clients waiting to come back, a connection per account made every command of the lab slow.
func (l *LDAPChecker) AccountsEnabled(ctx context.Context, sAMAccountNames []string) (map[string]bool, error) {
	enabled := make(map[string]bool, len(sAMAccountNames))
	for _, name := range sAMAccountNames {
		enabled[name] = false // an account that does not exist cannot authenticate
	}
	seen := map[string]int{}
	err := l.searchAccounts(ctx, sAMAccountNames, "", []string{"userAccountControl"}, func(name string, e *ldap.Entry) error {
		uac, err := strconv.ParseUint(e.GetAttributeValue("userAccountControl"), 10, 32)
		if err != nil {
			return fmt.Errorf("account %q: userAccountControl: %w", name, err)
		}
		if seen[name]++; seen[name] > 1 {
			return fmt.Errorf("search %q: %d accounts share the name", name, seen[name])
		}
		enabled[name] = uac&accountDisable == 0
		return nil
	})
	if err != nil {
		return nil, err
	}
	return enabled, nil
}

// searchAccounts finds the accounts by sAMAccountName over one connection, a search per hundred of them, each
// narrowed by filter when it is set, and calls found with the name asked for and each entry that has it.
func (l *LDAPChecker) searchAccounts(ctx context.Context, sAMAccountNames []string, filter string, attrs []string,
	found func(name string, e *ldap.Entry) error) error {
	if len(sAMAccountNames) == 0 {
		return nil
	}
	conn, err := l.dial(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	base, err := defaultNamingContext(conn)
	if err != nil {
		return err
	}
	for names := range slices.Chunk(sAMAccountNames, accountsPerSearch) {
		var anyName strings.Builder
		anyName.WriteString("(|")
		for _, name := range names {
			anyName.WriteString("(sAMAccountName=" + ldap.EscapeFilter(name) + ")")
		}
		anyName.WriteString(")")
		f := anyName.String()
		if filter != "" {
			f = "(&" + filter + f + ")"
		}
		res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			f, append([]string{"sAMAccountName"}, attrs...), nil))
		if err != nil {
			return fmt.Errorf("search %d accounts: %w", len(names), err)
		}
		for _, e := range res.Entries {
			for _, name := range names {
				if !strings.EqualFold(name, e.GetAttributeValue("sAMAccountName")) {
					continue
				}
				if err := found(name, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (l *LDAPChecker) dial(ctx context.Context) (*ldap.Conn, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultLDAPTimeout)
	}
	timeout := time.Until(deadline)
	dialer := &net.Dialer{Timeout: timeout}
	conn, err := ldap.DialURL(l.url, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(l.tls))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", l.url, err)
	}
	conn.SetTimeout(timeout)
	if l.startTLS {
		if err := conn.StartTLS(l.tls); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("StartTLS %s: %w", l.url, err)
		}
	}
	if err := conn.Bind(l.bindUser, l.password); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("bind to %s as %s: %w", l.url, l.bindUser, err)
	}
	return conn, nil
}

func defaultNamingContext(conn *ldap.Conn) (string, error) {
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"defaultNamingContext"}, nil))
	if err != nil {
		return "", fmt.Errorf("read root DSE: %w", err)
	}
	if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("defaultNamingContext") == "" {
		return "", errors.New("root DSE has no defaultNamingContext")
	}
	return res.Entries[0].GetAttributeValue("defaultNamingContext"), nil
}
