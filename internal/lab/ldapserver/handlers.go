package ldapserver

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jimlambrt/gldap"
)

// handler answers the LDAP operations of one endpoint.
type handler struct {
	d         *Directory
	sessions  *sessions
	tlsConfig *tls.Config
}

func (h *handler) mux() (*gldap.Mux, error) {
	mux, err := gldap.NewMux()
	if err != nil {
		return nil, fmt.Errorf("gldap mux: %w", err)
	}
	err = errors.Join(
		mux.Bind(h.bind),
		mux.Search(h.search),
		mux.Modify(h.modify),
		mux.Add(h.add),
		mux.Delete(h.del),
		mux.ExtendedOperation(h.startTLS, gldap.ExtendedOperationStartTLS),
		mux.DefaultRoute(h.unsupported),
	)
	if err != nil {
		return nil, fmt.Errorf("gldap routes: %w", err)
	}
	return mux, nil
}

// resultSetter is what every gldap response offers.
type resultSetter interface {
	SetResultCode(code int)
	SetDiagnosticMessage(msg string)
	SetMatchedDN(dn string)
}

func setResult(resp resultSetter, err error) {
	if err == nil {
		resp.SetResultCode(gldap.ResultSuccess)
		return
	}
	re := asResultError(err)
	resp.SetResultCode(re.code)
	resp.SetDiagnosticMessage(re.message)
	resp.SetMatchedDN(re.matchedDN)
}

func (h *handler) bind(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewBindResponse()
	m, err := r.GetSimpleBindMessage()
	if err == nil {
		err = h.authenticate(r.ConnectionID(), m.UserName, string(m.Password))
	}
	setResult(resp, err)
	_ = w.Write(resp)
}

// authenticate checks a simple bind the way Samba AD does (internal/lab/WINDOWS.md, Active Directory).
func (h *handler) authenticate(conn int, name, password string) error {
	// Any bind, even a failed one, first drops the previous identity (RFC 4513 5.1).
	h.sessions.setPrincipal(conn, "")
	if name == "" && password == "" {
		return nil // anonymous: enough for the root DSE
	}
	if encrypted, _ := h.sessions.state(conn); !encrypted {
		return errStrongAuthRequired()
	}
	if password == "" {
		return errUnauthenticatedBind()
	}
	e, ok := h.d.resolveBindName(name)
	if !ok || e.password == "" || subtle.ConstantTimeCompare([]byte(e.password), []byte(password)) != 1 {
		return errInvalidCredentials("52e")
	}
	if uac, _ := strconv.ParseInt(e.first("userAccountControl"), 10, 64); uac&uacAccountDisable != 0 {
		return errInvalidCredentials("533")
	}
	h.sessions.setPrincipal(conn, e.ndn)
	return nil
}

// resolveBindName accepts the simple-bind name forms AD accepts:
// user@realm (UPN, or sAMAccountName@dns-domain), DOMAIN\user, and a DN.
func (d *Directory) resolveBindName(name string) (*entry, bool) {
	if domain, user, ok := strings.Cut(name, `\`); ok {
		if !strings.EqualFold(domain, d.dom.netbios) && !strings.EqualFold(domain, d.dom.dnsName) {
			return nil, false
		}
		return d.store.bySAMAccountName(user)
	}
	if i := strings.LastIndex(name, "@"); i > 0 {
		if e, ok := d.store.byUserPrincipalName(name); ok {
			return e, true
		}
		if strings.EqualFold(name[i+1:], d.dom.dnsName) {
			return d.store.bySAMAccountName(name[:i])
		}
		return nil, false
	}
	if strings.Contains(name, "=") {
		ndn, err := normalizeDN(name)
		if err != nil {
			return nil, false
		}
		e, ok := d.store.byNDN(ndn)
		if !ok || e.first("sAMAccountName") == "" {
			return nil, false
		}
		return e, true
	}
	return nil, false
}

func (h *handler) search(w *gldap.ResponseWriter, r *gldap.Request) {
	done := r.NewSearchDoneResponse()
	m, err := r.GetSearchMessage()
	if err != nil {
		setResult(done, errProtocol(err.Error()))
		_ = w.Write(done)
		return
	}
	h.d.searches.Add(1)
	res, err := h.runSearch(r.ConnectionID(), m)
	if errors.Is(err, errConnectionDropped) {
		return // the connection is gone before the page (DropConnectionsOnPage)
	}
	sel := newSelection(m.Attributes)
	for _, e := range res.entries {
		resp := r.NewSearchResponseEntry(e.dn)
		for _, a := range sel.project(e) {
			values := a.values
			if m.TypesOnly {
				values = nil
			}
			resp.AddAttribute(a.name, values)
		}
		if werr := w.Write(resp); werr != nil {
			return // the client is gone
		}
	}
	if res.paging != nil {
		done.SetControls(res.paging)
	}
	setResult(done, err)
	_ = w.Write(done)
}

func (h *handler) modify(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewModifyResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	m, err := r.GetModifyMessage()
	switch {
	case err == nil && h.d.takeBusy():
		err = errBusy()
	case err == nil:
		err = h.applyModify(r.ConnectionID(), m)
	}
	if err == nil && h.d.takeLostReply() {
		return // the modify is applied, and the connection is gone before its reply
	}
	time.Sleep(time.Duration(h.d.modifyReplyDelay.Load()))
	setResult(resp, err)
	_ = w.Write(resp)
}

func (h *handler) add(w *gldap.ResponseWriter, r *gldap.Request) {
	h.refuseWrite(w, r, gldap.ApplicationAddResponse)
}

func (h *handler) del(w *gldap.ResponseWriter, r *gldap.Request) {
	h.refuseWrite(w, r, gldap.ApplicationDelResponse)
}

// refuseWrite answers adds and deletes: the lab's objects come from the seed.
func (h *handler) refuseWrite(w *gldap.ResponseWriter, r *gldap.Request, applicationCode int) {
	resp := r.NewResponse(gldap.WithApplicationCode(applicationCode), gldap.WithResponseCode(gldap.ResultSuccess))
	err := h.authorizeWrite(r.ConnectionID())
	if err == nil {
		err = errUnwilling("the lab does not add or delete objects over LDAP")
	}
	setResult(resp, err)
	_ = w.Write(resp)
}

// authorizeWrite lets only direct members of Domain Admins write.
func (h *handler) authorizeWrite(conn int) error {
	_, principal := h.sessions.state(conn)
	if principal == "" {
		return errBindRequired()
	}
	who, ok := h.d.store.byNDN(principal)
	if !ok || !h.d.store.isAdmin(who) {
		return errInsufficientAccess()
	}
	return nil
}

func (h *handler) startTLS(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	resp.SetResponseName(gldap.ExtendedOperationStartTLS)
	if encrypted, _ := h.sessions.state(r.ConnectionID()); encrypted {
		resp.SetResultCode(gldap.ResultOperationsError)
		resp.SetDiagnosticMessage("00000000: LdapErr: DSID-0C091240, comment: TLS or SSL already in effect, data 0, v4563")
		_ = w.Write(resp)
		return
	}
	if err := w.Write(resp); err != nil {
		return
	}
	// gldap serves StartTLS synchronously, so no other request of this
	// connection is read before the handshake is over.
	if err := r.StartTLS(h.tlsConfig); err != nil {
		return // the client sees the failed handshake
	}
	h.sessions.setTLS(r.ConnectionID())
}

// unsupported answers extended operations other than StartTLS (WhoAmI,
// password modify): gldap v0.1.14 cannot send an extended response value.
func (h *handler) unsupported(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewResponse(gldap.WithResponseCode(gldap.ResultProtocolError),
		gldap.WithDiagnosticMessage("0000203A: LdapErr: DSID-0C090F78, comment: the lab does not support this operation, data 0, v4563"))
	_ = w.Write(resp)
}
