package directory

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// matchingRuleInChain is LDAP_MATCHING_RULE_IN_CHAIN: (memberOf:1.2.840.113556.1.4.1941:=<group DN>) matches the
// members of the group through any depth of nested groups (Microsoft, "Search Filter Syntax").
const matchingRuleInChain = "1.2.840.113556.1.4.1941"

// The protected groups by well-known SID, so that localized names do not matter: relative identifiers in the domain
// (Domain Admins 512, Domain Controllers 516, Cert Publishers 517, Schema Admins 518, Enterprise Admins 519, Group
// Policy Creator Owners 520, Read-only Domain Controllers 521, Key Admins 526, Enterprise Key Admins 527) and the
// built-in groups S-1-5-32-x (Administrators 544, Account Operators 548, Server Operators 549, Print Operators 550,
// Backup Operators 551, Replicator 552). Microsoft, "Appendix C: Protected Accounts and Groups in Active Directory".
var (
	protectedDomainRIDs  = []uint32{512, 516, 517, 518, 519, 520, 521, 526, 527}
	protectedBuiltinRIDs = []uint32{544, 548, 549, 550, 551, 552}
)

// protectedGroups finds the DNs of the protected groups once per client.
func (c *Client) protectedGroups(ctx context.Context) ([]string, error) {
	c.protMu.Lock()
	defer c.protMu.Unlock()
	if c.protLoaded {
		return c.protDNs, nil
	}
	dom, err := c.Domain(ctx)
	if err != nil {
		return nil, err
	}
	head, err := c.search(ctx, ldap.NewSearchRequest(dom.DomainDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"objectSid"}, nil))
	if err != nil || len(head) != 1 {
		return nil, fmt.Errorf("directory: reading the domain SID from %s: %w", dom.DomainDN, err)
	}
	domainSID := head[0].GetRawAttributeValue("objectSid")
	builtin := []byte{1, 1, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0} // S-1-5-32
	var sids []string
	for _, rid := range protectedDomainRIDs {
		sids = append(sids, string(appendRID(domainSID, rid)))
	}
	for _, rid := range protectedBuiltinRIDs {
		sids = append(sids, string(appendRID(builtin, rid)))
	}
	var filter strings.Builder
	filter.WriteString("(&(objectClass=group)(|")
	for _, sid := range sids {
		filter.WriteString("(objectSid=" + escapeBytes([]byte(sid)) + ")")
	}
	filter.WriteString("))")
	groups, err := c.search(ctx, ldap.NewSearchRequest(dom.DomainDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter.String(), []string{"objectSid"}, nil))
	if err != nil {
		return nil, fmt.Errorf("directory: finding the protected groups in %s: %w", dom.DomainDN, err)
	}
	// In the order of the list, so that a refusal names Domain Admins rather than Administrators, which holds it.
	c.protDNs = nil
	for _, sid := range sids {
		for _, g := range groups {
			if string(g.GetRawAttributeValue("objectSid")) == sid {
				c.protDNs = append(c.protDNs, g.DN)
			}
		}
	}
	c.protLoaded = true
	return c.protDNs, nil
}

// appendRID returns the SID sid with one more sub-authority.
func appendRID(sid []byte, rid uint32) []byte {
	if len(sid) < 8 {
		return nil
	}
	out := append([]byte(nil), sid...)
	out[1]++
	return binary.LittleEndian.AppendUint32(out, rid)
}

// inChain is the filter that matches members, nested or direct, of any of groups.
func inChain(groups []string) string {
	var f strings.Builder
	f.WriteString("(|")
	for _, g := range groups {
		f.WriteString("(memberOf:" + matchingRuleInChain + ":=" + ldap.EscapeFilter(g) + ")")
	}
	return f.String() + ")"
}

// markPrivileged fills PrivilegedVia of the accounts: one search for all of them, then one per protected group for
// those that are members of one.
func (c *Client) markPrivileged(ctx context.Context, do doFunc, accts []*Account) error {
	groups, err := c.protectedGroups(ctx)
	if err != nil || len(groups) == 0 || len(accts) == 0 {
		return err
	}
	dom, err := c.Domain(ctx)
	if err != nil {
		return err
	}
	byGUID := map[string]*Account{}
	var ids strings.Builder
	ids.WriteString("(|")
	for _, a := range accts {
		raw, err := encodeGUID(a.ObjectGUID)
		if err != nil {
			return err
		}
		byGUID[a.ObjectGUID] = a
		ids.WriteString("(objectGUID=" + escapeBytes(raw) + ")")
	}
	ids.WriteString(")")
	members, err := searchOn(ctx, do, dom.DomainDN, "(&"+ids.String()+inChain(groups)+")")
	if err != nil {
		return fmt.Errorf("directory: checking membership of the protected groups: %w", err)
	}
	for _, m := range members {
		guid, _ := decodeGUID(m.GetRawAttributeValue("objectGUID"))
		a, ok := byGUID[guid]
		if !ok {
			continue
		}
		a.PrivilegedVia = groups[0]
		for _, g := range groups {
			found, err := searchOn(ctx, do, a.DN, "(memberOf:"+matchingRuleInChain+":="+ldap.EscapeFilter(g)+")")
			if err == nil && len(found) > 0 {
				a.PrivilegedVia = g
				break
			}
		}
	}
	viaPrimary := map[uint32]string{} // by primary group: the accounts of one lookup often share one
	for _, a := range accts {
		if a.PrivilegedVia != "" || slices.Contains(ordinaryPrimaryGroups, a.PrimaryGroupID) || slices.Contains(protectedDomainRIDs, a.PrimaryGroupID) {
			continue
		}
		via, known := viaPrimary[a.PrimaryGroupID]
		if !known {
			if via, err = primaryGroupPrivilegedVia(ctx, do, dom.DomainDN, groups, *a); err != nil {
				return err
			}
			viaPrimary[a.PrimaryGroupID] = via
		}
		a.PrivilegedVia = via
	}
	return nil
}

// ordinaryPrimaryGroups are the primary groups of almost every account: Domain Users, Domain Guests, Domain
// Computers. No search is made for them (an administrator who nests one in a protected group is refused by
// adminCount on Windows, where SDProp runs).
var ordinaryPrimaryGroups = []uint32{0, 513, 514, 515}

// primaryGroupPrivilegedVia is PrivilegedVia for an account whose primary group, which memberOf does not list and
// LDAP_MATCHING_RULE_IN_CHAIN does not follow, is a member of a protected group (nested or direct); "" when it is
// not. Primary groups that are protected groups themselves are refused by Guard from the RID alone.
func primaryGroupPrivilegedVia(ctx context.Context, do doFunc, base string, groups []string, a Account) (string, error) {
	sid, err := primaryGroupSID(a.ObjectSID, a.PrimaryGroupID)
	if err != nil {
		return "", fmt.Errorf("directory: the primary group of %s: %w", a.DN, err)
	}
	group := "(objectSid=" + escapeBytes(sid) + ")"
	found, err := searchOn(ctx, do, base, "(&"+group+inChain(groups)+")")
	if err != nil {
		return "", fmt.Errorf("directory: checking the primary group of %s: %w", a.DN, err)
	}
	if len(found) == 0 {
		return "", nil
	}
	via := groups[0]
	for _, g := range groups {
		hit, err := searchOn(ctx, do, base, "(&"+group+"(memberOf:"+matchingRuleInChain+":="+ldap.EscapeFilter(g)+"))")
		if err == nil && len(hit) > 0 {
			via = g
			break
		}
	}
	return via + " (through its primary group " + found[0].DN + ")", nil
}

// primaryGroupSID returns the binary SID of an account's primary group: the account's domain SID with the group's
// relative identifier.
func primaryGroupSID(accountSID string, rid uint32) ([]byte, error) {
	if _, ok := domainRID(accountSID); !ok {
		return nil, fmt.Errorf("objectSid %s is not a domain account's", accountSID)
	}
	parts := strings.Split(accountSID, "-")
	b := []byte{1, 5, 0, 0, 0, 0, 0, 5} // S-1-5, five sub-authorities: 21, the domain's three, the RID
	for _, p := range append(slices.Clone(parts[3:7]), strconv.FormatUint(uint64(rid), 10)) {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("objectSid %s: %w", accountSID, err)
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
	}
	return b, nil
}

// privilegedVia returns the protected group acct is a member of, nested or direct ("" for none).
func (c *Client) privilegedVia(ctx context.Context, do doFunc, acct Account) (string, error) {
	if err := c.markPrivileged(ctx, do, []*Account{&acct}); err != nil {
		return "", err
	}
	return acct.PrivilegedVia, nil
}

// searchOn searches the subtree of base on a connection from do, for objectGUID only.
func searchOn(ctx context.Context, do doFunc, base, filter string) ([]*ldap.Entry, error) {
	var entries []*ldap.Entry
	err := do(ctx, func(conn *ldap.Conn) error {
		res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, []string{"objectGUID"}, nil))
		if err != nil {
			return err
		}
		entries = res.Entries
		return nil
	})
	return entries, err
}
