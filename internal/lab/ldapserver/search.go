package ldapserver

import (
	"strings"
	"time"

	"github.com/jimlambrt/gldap"
)

type searchResult struct {
	entries []*entry
	paging  gldap.Control // the paged-results response control, if asked for
}

func errSizeLimitExceeded() *resultError {
	return &resultError{code: gldap.ResultSizeLimitExceeded}
}

func (h *handler) runSearch(conn int, m *gldap.SearchMessage) (searchResult, error) {
	if err := checkCriticalControls(m.Controls); err != nil {
		return searchResult{}, err
	}
	f, err := compileFilter(m.Filter, compileEnv{schemaDN: h.d.dom.schemaDN, lookup: h.d.store.lockedLookup})
	if err != nil {
		return searchResult{}, errProtocol(err.Error())
	}
	if m.BaseDN == "" && m.Scope == gldap.BaseObject {
		time.Sleep(time.Duration(h.d.rootDSEDelay.Load()))
		// The root DSE is the one thing an anonymous client may read.
		if e := h.d.rootDSE(); f.match(e) {
			return searchResult{entries: []*entry{e}}, nil
		}
		return searchResult{}, nil
	}
	if _, principal := h.sessions.state(conn); principal == "" {
		return searchResult{}, errBindRequired()
	}
	base, err := h.d.findBase(m.BaseDN)
	if err != nil {
		return searchResult{}, err
	}
	scope := int(m.Scope)
	deleted := hasControl(m.Controls, controlShowDeleted)
	if p := pagingControl(m.Controls); p != nil {
		return h.page(conn, p, int(m.SizeLimit), func() []*entry { return h.d.store.search(base, scope, f, deleted) })
	}
	entries := h.d.store.search(base, scope, f, deleted)
	// Unpaged searches stop at MaxPageSize, as on AD: a client that forgets
	// to page gets sizeLimitExceeded, not a silent cut.
	limit := maxPageSize
	if m.SizeLimit > 0 && int(m.SizeLimit) < limit {
		limit = int(m.SizeLimit)
	}
	if len(entries) > limit {
		return searchResult{entries: entries[:limit]}, errSizeLimitExceeded()
	}
	return searchResult{entries: entries}, nil
}

// page serves one page of a paged search (RFC 2696). The first request runs
// the search and keeps the result; later requests carry the cookie.
func (h *handler) page(conn int, p *gldap.ControlPaging, sizeLimit int, run func() []*entry) (searchResult, error) {
	size := int(min(p.PagingSize, maxPageSize))
	cookie := string(p.Cookie)
	resp, err := gldap.NewControlPaging(0)
	if err != nil {
		return searchResult{}, err
	}
	if cookie == "" {
		if size == 0 {
			return searchResult{paging: resp}, nil
		}
		c := &cursor{entries: run()}
		if sizeLimit > 0 && len(c.entries) > sizeLimit {
			c.entries, c.truncated = c.entries[:sizeLimit], true
		}
		cookie = h.sessions.openCursor(conn, c)
	}
	if p.Cookie != nil && h.d.takeDroppedPage() {
		return searchResult{}, errConnectionDropped
	}
	entries, done, truncated, ok := h.sessions.nextPage(conn, cookie, size)
	if !ok {
		return searchResult{}, errInvalidCookie()
	}
	if !done {
		resp.SetCookie([]byte(cookie))
	}
	res := searchResult{entries: entries, paging: resp}
	if truncated {
		return res, errSizeLimitExceeded()
	}
	return res, nil
}

func pagingControl(controls []gldap.Control) *gldap.ControlPaging {
	for _, c := range controls {
		if p, ok := c.(*gldap.ControlPaging); ok {
			return p
		}
	}
	return nil
}

func hasControl(controls []gldap.Control, oid string) bool {
	for _, c := range controls {
		if c.GetControlType() == oid {
			return true
		}
	}
	return false
}

// checkCriticalControls refuses a critical control the lab does not know,
// as RFC 4511 4.1.11 requires.
func checkCriticalControls(controls []gldap.Control) error {
	for _, c := range controls {
		s, ok := c.(*gldap.ControlString)
		if !ok || !s.Criticality {
			continue // gldap decodes the controls it knows into their own types
		}
		supported := false
		for _, oid := range supportedControls {
			supported = supported || oid == s.ControlType
		}
		if !supported {
			return errUnavailableCriticalExtension(s.ControlType)
		}
	}
	return nil
}

// findBase resolves a search base; a missing one is reported with the
// closest existing ancestor, as AD does. A base outside every naming context
// the server holds is referred to the domain its DC= components name, as AD
// refers a search for another domain.
func (d *Directory) findBase(dn string) (*entry, error) {
	ndn, err := normalizeDN(dn)
	if err != nil {
		return nil, errInvalidDN(dn)
	}
	if e, ok := d.store.byNDN(ndn); ok {
		return e, nil
	}
	for p := parentDN(ndn); p != ""; p = parentDN(p) {
		if e, ok := d.store.byNDN(p); ok {
			return nil, errNoSuchObject(e.dn)
		}
	}
	if domain := dnsNameOf(ndn); domain != "" {
		return nil, errReferral(domain)
	}
	return nil, errNoSuchObject("")
}

// selection is the attribute list of a search request.
type selection struct {
	all   bool
	names map[string]bool
}

func newSelection(requested []string) selection {
	s := selection{all: len(requested) == 0, names: map[string]bool{}}
	for _, a := range requested {
		switch a {
		case "*":
			s.all = true
		case "1.1", "+":
			// "1.1": no attributes; "+": operational ones, which the lab
			// stores among the rest.
		default:
			s.names[strings.ToLower(a)] = true
		}
	}
	return s
}

// project picks the requested attributes, named as AD names them.
func (s selection) project(e *entry) []attribute {
	if s.all {
		return e.attrs
	}
	var out []attribute
	for _, a := range e.attrs {
		if s.names[strings.ToLower(a.name)] {
			out = append(out, a)
		}
	}
	return out
}
