package ldapserver

import (
	"strconv"
	"sync"
)

// maxResultSetsPerConn is AD's default MaxResultSetsPerConn policy: the
// paged searches a connection may keep open at once.
const maxResultSetsPerConn = 10

// sessions is the per-connection state of one endpoint, keyed by gldap's
// connection ID (unique per gldap server).
type sessions struct {
	mu          sync.Mutex
	byConn      map[int]*session
	implicitTLS bool // LDAPS endpoint: every connection is encrypted
}

type session struct {
	tls        bool
	principal  string // normalized DN of the bound account, "" when anonymous
	cursors    map[string]*cursor
	cursorIDs  []string // oldest first
	nextCursor int
}

// cursor is an open paged search: the matching entries as they were when the
// first page was asked for, and how far the client has read.
type cursor struct {
	entries   []*entry
	pos       int
	truncated bool // a size limit cut the result
}

func newSessions(implicitTLS bool) *sessions {
	return &sessions{byConn: map[int]*session{}, implicitTLS: implicitTLS}
}

// get returns the session of conn, creating it; callers hold s.mu.
func (s *sessions) get(conn int) *session {
	sess, ok := s.byConn[conn]
	if !ok {
		sess = &session{tls: s.implicitTLS, cursors: map[string]*cursor{}}
		s.byConn[conn] = sess
	}
	return sess
}

func (s *sessions) state(conn int) (tls bool, principal string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.get(conn)
	return sess.tls, sess.principal
}

func (s *sessions) setTLS(conn int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(conn).tls = true
}

func (s *sessions) setPrincipal(conn int, ndn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(conn).principal = ndn
}

// drop forgets a closed connection (gldap's OnClose callback).
func (s *sessions) drop(conn int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byConn, conn)
}

// openCursor stores a paged search and returns its cookie, evicting the
// oldest one beyond maxResultSetsPerConn.
func (s *sessions) openCursor(conn int, c *cursor) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.get(conn)
	sess.nextCursor++
	id := strconv.Itoa(sess.nextCursor)
	sess.cursors[id] = c
	sess.cursorIDs = append(sess.cursorIDs, id)
	if len(sess.cursorIDs) > maxResultSetsPerConn {
		delete(sess.cursors, sess.cursorIDs[0])
		sess.cursorIDs = sess.cursorIDs[1:]
	}
	return id
}

// nextPage returns up to size entries of the cursor behind cookie and
// whether the cursor is exhausted (and thus closed). ok is false for an
// unknown cookie. size 0 abandons the search.
func (s *sessions) nextPage(conn int, cookie string, size int) (page []*entry, done, truncated, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.get(conn)
	c, ok := sess.cursors[cookie]
	if !ok {
		return nil, false, false, false
	}
	end := min(c.pos+size, len(c.entries))
	page = c.entries[c.pos:end]
	c.pos = end
	done = size == 0 || c.pos == len(c.entries)
	if done {
		delete(sess.cursors, cookie)
		for i, id := range sess.cursorIDs {
			if id == cookie {
				sess.cursorIDs = append(sess.cursorIDs[:i], sess.cursorIDs[i+1:]...)
				break
			}
		}
	}
	return page, done, c.truncated && done && size != 0, true
}
