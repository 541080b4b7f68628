package ldapserver

import (
	"fmt"
	"maps"
	"strconv"
	"sync/atomic"
)

// Multi-master replication, reduced to what a block's writes need. Active Directory lets every writable domain
// controller accept a write; replication then settles two writes of one attribute by keeping the later one for the
// whole value (Microsoft, "How the Active Directory Replication Model Works": conflict resolution by version and
// timestamp). A Peer is a second domain controller with its own copy of the objects; Replicate exchanges the
// replicated attributes between two peers, last writer wins per attribute.

// replicated are the attributes Replicate exchanges.
var replicated = []string{attrUserAccountControl, "info", "description"}

// writeClock orders originating writes across every store of the process: a later write has a larger stamp.
var writeClock atomic.Int64

// stampChanges stamps the replicated attributes that next changes. The caller holds the write lock.
func (s *store) stampChanges(ndn string, old, next *entry) {
	for _, attr := range replicated {
		if equalValues(old.get(attr), next.get(attr)) {
			continue
		}
		if s.stamps == nil {
			s.stamps = map[string]map[string]int64{}
		}
		if s.stamps[ndn] == nil {
			s.stamps[ndn] = map[string]int64{}
		}
		s.stamps[ndn][attr] = writeClock.Add(1)
	}
}

func equalValues(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Peer returns another domain controller of the domain (dcName must be one of the seed's) with its own copy of the
// objects, as they are now: writes through one are seen through the other only after Replicate. Its root DSE names
// it (dsServiceName), and the domain object's fsmoRoleOwner still names the PDC emulator.
func (d *Directory) Peer(dcName string) (*Directory, error) {
	r, err := d.Replica(dcName)
	if err != nil {
		return nil, err
	}
	r.store = d.store.clone()
	return r, nil
}

func (s *store) clone() *store {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := &store{
		entries: append([]*entry(nil), s.entries...),
		byDN:    maps.Clone(s.byDN), bySAM: maps.Clone(s.bySAM), byUPN: maps.Clone(s.byUPN), rids: maps.Clone(s.rids),
		usn: s.usn, adminGroup: s.adminGroup, uacHistory: map[string][]string{}, stamps: map[string]map[string]int64{},
	}
	for k, v := range s.uacHistory {
		c.uacHistory[k] = append([]string(nil), v...)
	}
	for k, v := range s.stamps {
		c.stamps[k] = maps.Clone(v)
	}
	return c
}

// Replicate brings two peers to the same values of the replicated attributes: for each attribute of each object, the
// value of the later originating write wins on both.
func Replicate(a, b *Directory) error {
	if a.store == b.store {
		return fmt.Errorf("replicate: %s and %s share their objects", a.dc.Name, b.dc.Name)
	}
	a.store.mu.Lock()
	defer a.store.mu.Unlock()
	b.store.mu.Lock()
	defer b.store.mu.Unlock()
	for ndn := range unionKeys(a.store.stamps, b.store.stamps) {
		for _, attr := range replicated {
			sa, sb := a.store.stamps[ndn][attr], b.store.stamps[ndn][attr]
			switch {
			case sa > sb:
				b.store.receive(ndn, attr, a.store, sa)
			case sb > sa:
				a.store.receive(ndn, attr, b.store, sb)
			}
		}
	}
	return nil
}

func unionKeys(a, b map[string]map[string]int64) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// receive takes attr of ndn from src, with its stamp. Both stores are locked by the caller.
func (s *store) receive(ndn, attr string, src *store, stamp int64) {
	i, ok := s.byDN[ndn]
	j, ok2 := src.byDN[ndn]
	if !ok || !ok2 {
		return
	}
	old := s.entries[i]
	next := old.with(attr, src.entries[j].get(attr)...)
	s.recordHistory(ndn, old, next)
	s.usn++
	s.entries[i] = next.with("uSNChanged", strconv.FormatInt(s.usn, 10))
	if s.stamps == nil {
		s.stamps = map[string]map[string]int64{}
	}
	if s.stamps[ndn] == nil {
		s.stamps[ndn] = map[string]int64{}
	}
	s.stamps[ndn][attr] = stamp
}
