package ldapserver

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LoseModifyReplies makes the next n modify requests take effect and then drops every connection instead of
// answering, as a network failure between the domain controller's commit and its reply would: the client cannot
// tell whether its change was applied. With unreachable, the directory then refuses every new connection too (until
// SetReachable), so the client cannot read the outcome back either.
func (d *Directory) LoseModifyReplies(n int, unreachable bool) {
	d.unreachableAfter.Store(unreachable)
	d.lostReplies.Store(int32(n)) //nolint:gosec // a test's small count
}

// takeLostReply reports whether this modify's reply is to be lost, and drops the connections if so.
func (d *Directory) takeLostReply() bool {
	if !takeOne(&d.lostReplies) {
		return false
	}
	if then := d.afterLostReply.Swap(nil); then != nil {
		(*then)()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ep := range d.endpoints {
		if d.unreachableAfter.Load() {
			ep.relay.setRefusing(true)
		}
		ep.relay.dropConnections()
	}
	return true
}

// DropConnectionsOnPage makes the next n requests for a later page of a paged search (those that carry a cookie)
// drop every connection instead of answering, as a network failure between two pages would. The cookie names a
// cursor of that connection (RFC 2696 leaves it to the server; Active Directory keeps paged-search state per
// connection), so a client must start its search again on a new one.
func (d *Directory) DropConnectionsOnPage(n int) { d.droppedPages.Store(int32(n)) } //nolint:gosec // a test's small count

// takeDroppedPage reports whether this page's request is to be answered by dropping the connections, and drops them.
func (d *Directory) takeDroppedPage() bool {
	if !takeOne(&d.droppedPages) {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ep := range d.endpoints {
		ep.relay.dropConnections()
	}
	return true
}

// ThenOnLostReply runs then, once, when the next lost reply is lost (LoseModifyReplies): after the modify took effect
// and before the client can read the account again, as another writer that changes the account in that moment.
func (d *Directory) ThenOnLostReply(then func()) { d.afterLostReply.Store(&then) }

// DisableAccount sets ACCOUNTDISABLE on an account as an administrator or another tool would, writing nothing else.
func (d *Directory) DisableAccount(samAccountName string) error {
	e, ok := d.store.bySAMAccountName(samAccountName)
	if !ok {
		return fmt.Errorf("no account %q", samAccountName)
	}
	return d.store.update(e.ndn, func(cur *entry) (*entry, error) {
		uac, err := strconv.ParseInt(cur.first(attrUserAccountControl), 10, 32)
		if err != nil {
			return nil, fmt.Errorf("userAccountControl of %s: %w", cur.dn, err)
		}
		return cur.with(attrUserAccountControl, strconv.FormatInt(int64(int32(uac)|uacAccountDisable), 10)), nil //nolint:gosec // a 32-bit flag word
	})
}

// SetAttribute replaces one attribute of an account as an administrator would (a host renamed, a new user principal
// name), for attributes that the lab's LDAP modify does not write.
func (d *Directory) SetAttribute(samAccountName, attr, value string) error {
	e, ok := d.store.bySAMAccountName(samAccountName)
	if !ok {
		return fmt.Errorf("no account %q", samAccountName)
	}
	return d.store.update(e.ndn, func(cur *entry) (*entry, error) { return cur.with(attr, value), nil })
}

// RefuseModifiesAsBusy makes the next n modifies answered with result busy (51) and not carried out, as a domain
// controller under load answers.
func (d *Directory) RefuseModifiesAsBusy(n int) { d.busyModifies.Store(int32(n)) } //nolint:gosec // a test's small count

// takeBusy reports whether this modify is refused as busy.
func (d *Directory) takeBusy() bool { return takeOne(&d.busyModifies) }

// takeOne takes one from a fault's count of requests still to hit, and reports whether there was one.
func takeOne(count *atomic.Int32) bool {
	for {
		n := count.Load()
		if n <= 0 {
			return false
		}
		if count.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// DelayModifyReplies makes every modify take effect at once and its answer come d later (0 turns it off), as a busy
// domain controller or network on the way back would: a client that gives up meanwhile cannot tell whether its change
// was applied.
func (d *Directory) DelayModifyReplies(delay time.Duration) { d.modifyReplyDelay.Store(int64(delay)) }

// DelayRootDSE makes every read of the root DSE answered d later (0 turns it off), as a domain controller that takes
// the bind and then stalls would.
func (d *Directory) DelayRootDSE(delay time.Duration) { d.rootDSEDelay.Store(int64(delay)) }

// SetReachable lets the directory accept connections again after LoseModifyReplies made it unreachable.
func (d *Directory) SetReachable() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, ep := range d.endpoints {
		ep.relay.setRefusing(false)
	}
}

// setFSMORoleOwner makes dcName the PDC emulator.
func (d *Directory) setFSMORoleOwner(dcName string) error {
	ndn, err := normalizeDN(d.dom.baseDN)
	if err != nil {
		return err
	}
	if err := d.store.update(ndn, func(cur *entry) (*entry, error) {
		return cur.with("fSMORoleOwner", "CN=NTDS Settings,"+d.dom.serverDN(dcName)), nil
	}); err != nil {
		return fmt.Errorf("fsmoRoleOwner: %w", err)
	}
	return nil
}

// AddMember makes member (a sAMAccountName) a member of group, setting the member's memberOf back-link, as a nested
// group membership needs: a group may be a member of another group.
func (d *Directory) AddMember(group, member string) error {
	g, ok := d.store.bySAMAccountName(group)
	if !ok {
		return fmt.Errorf("no group %q", group)
	}
	m, ok := d.store.bySAMAccountName(member)
	if !ok {
		return fmt.Errorf("no member %q", member)
	}
	if err := d.store.update(g.ndn, func(cur *entry) (*entry, error) {
		return cur.with("member", append(append([]string(nil), cur.get("member")...), m.dn)...), nil
	}); err != nil {
		return err
	}
	return d.store.update(m.ndn, func(cur *entry) (*entry, error) {
		return cur.with("memberOf", append(append([]string(nil), cur.get("memberOf")...), g.dn)...), nil
	})
}

// Delete deletes an account as Active Directory does when the recycle bin is off: the object becomes a tombstone
// (isDeleted TRUE, lastKnownParent), which keeps its objectGUID and is found only by searches with the show-deleted
// control (Microsoft, "Searching for deleted objects"); it can no longer be changed. The lab keeps the tombstone at its
// DN (AD moves it to CN=Deleted Objects and mangles its name).
func (d *Directory) Delete(samAccountName string) error {
	e, ok := d.store.bySAMAccountName(samAccountName)
	if !ok {
		return fmt.Errorf("no account %q", samAccountName)
	}
	dn, err := ldap.ParseDN(e.dn)
	if err != nil || len(dn.RDNs) < 2 {
		return fmt.Errorf("%s: no parent", e.dn)
	}
	parent := (&ldap.DN{RDNs: dn.RDNs[1:]}).String()
	return d.store.update(e.ndn, func(cur *entry) (*entry, error) {
		return cur.with("isDeleted", "TRUE").with("lastKnownParent", parent), nil
	})
}
