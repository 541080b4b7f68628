package ldapserver

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// store is the thread-safe in-memory tree. Entries are immutable; writers
// swap whole entries under the lock.
type store struct {
	mu      sync.RWMutex
	entries []*entry       // insertion order, the order searches return
	byDN    map[string]int // normalized DN -> index in entries
	bySAM   map[string]int // lower-case sAMAccountName -> index
	byUPN   map[string]int // lower-case userPrincipalName -> index
	rids    map[uint32]bool
	usn     int64
	// adminGroup is the normalized DN of Domain Admins (RID 512), whose
	// direct members may write.
	adminGroup string
	// uacHistory records, per normalized DN, every value userAccountControl
	// took after a write, so that tests can see a change that did not last.
	uacHistory map[string][]string
	// stamps records, per normalized DN and replicated attribute, the write clock of the last originating write,
	// which decides between two writes when peers replicate (peer.go).
	stamps map[string]map[string]int64
}

func newStore() *store {
	return &store{
		byDN:  map[string]int{},
		bySAM: map[string]int{},
		byUPN: map[string]int{},
		rids:  map[uint32]bool{},
	}
}

// entryExistsError is returned when a DN or sAMAccountName is taken.
type entryExistsError struct{ name string }

func (e entryExistsError) Error() string { return fmt.Sprintf("%s already exists", e.name) }

// add inserts new entries; the parent of each must exist already (or be an
// earlier entry of the same call). Nothing is inserted if one fails.
func (s *store) add(es ...*entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pending := map[string]bool{}
	pendingSAM := map[string]bool{}
	for _, e := range es {
		if _, ok := s.byDN[e.ndn]; ok || pending[e.ndn] {
			return entryExistsError{e.dn}
		}
		if e.parent != "" {
			if _, ok := s.byDN[e.parent]; !ok && !pending[e.parent] {
				return fmt.Errorf("add %s: parent does not exist", e.dn)
			}
		}
		if sam := strings.ToLower(e.first("sAMAccountName")); sam != "" {
			if _, ok := s.bySAM[sam]; ok || pendingSAM[sam] {
				return entryExistsError{"sAMAccountName " + e.first("sAMAccountName")}
			}
			pendingSAM[sam] = true
		}
		pending[e.ndn] = true
	}
	for _, e := range es {
		s.usn++
		usn := strconv.FormatInt(s.usn, 10)
		e = e.with("uSNCreated", usn).with("uSNChanged", usn)
		s.index(len(s.entries), e)
		s.entries = append(s.entries, e)
	}
	return nil
}

func (s *store) index(i int, e *entry) {
	s.byDN[e.ndn] = i
	if sam := e.first("sAMAccountName"); sam != "" {
		s.bySAM[strings.ToLower(sam)] = i
	}
	if upn := e.first("userPrincipalName"); upn != "" {
		s.byUPN[strings.ToLower(upn)] = i
	}
}

// allocateRID reserves rid, or the next free RID above it when taken.
func (s *store) allocateRID(rid uint32) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.rids[rid] {
		rid++
	}
	s.rids[rid] = true
	return rid
}

func (s *store) byNDN(ndn string) (*entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := s.byDN[ndn]
	if !ok {
		return nil, false
	}
	return s.entries[i], true
}

// lockedLookup finds an entry by normalized DN while the caller holds the lock (a filter evaluated by search).
func (s *store) lockedLookup(ndn string) (*entry, bool) {
	i, ok := s.byDN[ndn]
	if !ok {
		return nil, false
	}
	return s.entries[i], true
}

func (s *store) bySAMAccountName(sam string) (*entry, bool) {
	return s.lookup(s.bySAM, sam)
}

func (s *store) byUserPrincipalName(upn string) (*entry, bool) {
	return s.lookup(s.byUPN, upn)
}

func (s *store) lookup(index map[string]int, key string) (*entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i, ok := index[strings.ToLower(key)]
	if !ok {
		return nil, false
	}
	return s.entries[i], true
}

// scope values as on the wire (RFC 4511).
const (
	scopeBase     = 0
	scopeOneLevel = 1
	scopeSubtree  = 2
)

// search returns the entries in scope of base that match f. A subtree search
// stays inside the base's naming context, as on AD, where the Configuration
// partition below the domain head is a separate naming context (AD answers
// with a referral there, which this lab cannot send).
//
// Deleted objects (tombstones) are returned only with showDeleted (the show-deleted control).
func (s *store) search(base *entry, scope int, f filter, showDeleted bool) []*entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*entry
	if scope == scopeBase {
		if e := s.entries[s.byDN[base.ndn]]; (showDeleted || !e.deleted()) && f.match(e) {
			out = append(out, e)
		}
		return out
	}
	for _, e := range s.entries {
		inScope := false
		switch scope {
		case scopeOneLevel:
			inScope = e.parent == base.ndn
		case scopeSubtree:
			inScope = e.nc == base.nc && isUnder(e.ndn, base.ndn)
		}
		if inScope && (showDeleted || !e.deleted()) && f.match(e) {
			out = append(out, e)
		}
	}
	return out
}

// update applies change to the current version of the entry with normalized
// DN ndn and stores the result, stamping uSNChanged. change runs under the
// write lock, so a read-modify-write through it is atomic.
func (s *store) update(ndn string, change func(*entry) (*entry, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.byDN[ndn]
	if !ok {
		return errNoSuchEntry
	}
	next, err := change(s.entries[i])
	if err != nil {
		return err
	}
	s.stampChanges(ndn, s.entries[i], next)
	s.recordHistory(ndn, s.entries[i], next)
	s.usn++
	s.entries[i] = next.with("uSNChanged", strconv.FormatInt(s.usn, 10))
	return nil
}

// recordHistory appends a changed userAccountControl to the account's history.
func (s *store) recordHistory(ndn string, old, next *entry) {
	if was, now := old.first(attrUserAccountControl), next.first(attrUserAccountControl); was != now {
		if s.uacHistory == nil {
			s.uacHistory = map[string][]string{}
		}
		s.uacHistory[ndn] = append(s.uacHistory[ndn], now)
	}
}

func (s *store) highestUSN() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.usn
}

func (s *store) setAdminGroup(ndn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adminGroup = ndn
}

// isAdmin reports whether e is a direct member of Domain Admins.
func (s *store) isAdmin(e *entry) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.adminGroup == "" {
		return false
	}
	for _, g := range e.get("memberOf") {
		if n, err := normalizeDN(g); err == nil && n == s.adminGroup {
			return true
		}
	}
	return false
}
