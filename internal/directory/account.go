package directory

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Kind is the type of account.
type Kind string

const (
	KindComputer Kind = "computer"
	KindUser     Kind = "user"
)

// userAccountControl flags this package reads.
const (
	UFAccountDisable        uint32 = 0x2
	UFNormalAccount         uint32 = 0x200
	UFWorkstationTrust      uint32 = 0x1000
	UFServerTrustAccount    uint32 = 0x2000     // a domain controller
	UFPartialSecretsAccount uint32 = 0x04000000 // a read-only domain controller
)

// Well-known relative identifiers that must never be disabled.
const (
	ridAdministrator = 500
	ridKrbtgt        = 502
)

// Account is a computer or user account as read from the directory.
type Account struct {
	Kind                   Kind
	DN                     string
	SAMAccountName         string // NAME$ for computers
	UserPrincipalName      string
	DNSHostName            string
	DisplayName            string
	ObjectGUID             string // canonical lowercase 8-4-4-4-12
	ObjectSID              string // S-1-5-21-...
	UserAccountControl     uint32
	MemberOf               []string
	IsCriticalSystemObject bool
	// AdminCount is set (1) by Active Directory's SDProp on members of protected groups, nested ones included.
	AdminCount int
	// PrimaryGroupID is the relative identifier of the account's primary group (513 Domain Users, 515 Domain
	// Computers): a membership that memberOf never lists and LDAP_MATCHING_RULE_IN_CHAIN does not follow.
	PrimaryGroupID uint32
	// PrivilegedVia is the DN of a protected group the account is a member of, directly or through nested groups
	// (LDAP_MATCHING_RULE_IN_CHAIN), followed by the primary group it is a member through when that is how; empty
	// when it is a member of none. Filled by every lookup.
	PrivilegedVia string
	// Info (Notes) and Description hold the block record and its summary while a block holds the account.
	Info        string
	Description string
	// AllowDialin is msNPAllowDialin as read ("TRUE", "FALSE" or empty when absent); DialIn interprets it.
	AllowDialin string
}

// DialIn is the account's Network Access Permission, as read with the account: one round trip serves a refresh.
func (a Account) DialIn() (DialIn, error) { return parseDialIn(a.DN, a.AllowDialin) }

// BlockRecord parses the account's block record; nil when none is written.
func (a Account) BlockRecord() *BlockRecord { return ParseBlockRecord(a.Info) }

// Enabled reports whether ACCOUNTDISABLE is clear.
func (a Account) Enabled() bool { return a.UserAccountControl&UFAccountDisable == 0 }

// Name is the account name without the trailing "$" of computer accounts.
func (a Account) Name() string { return strings.TrimSuffix(a.SAMAccountName, "$") }

var accountAttributes = []string{
	"objectClass", "sAMAccountName", "userPrincipalName", "dNSHostName", "displayName",
	"objectGUID", "objectSid", "userAccountControl", "memberOf", "isCriticalSystemObject", "adminCount", "primaryGroupID",
	attrInfo, attrDescription, attrDialIn,
}

// kindFilter selects one kind of account. Computers are users too (objectClass computer derives from user),
// so the user filter excludes them.
func kindFilter(kind Kind) (string, error) {
	switch kind {
	case KindComputer:
		return "(objectClass=computer)", nil
	case KindUser:
		return "(&(objectClass=user)(!(objectClass=computer)))", nil
	}
	return "", &ValidationError{Field: "account kind", Value: string(kind), Reason: `want "computer" or "user"`}
}

func parseAccount(e *ldap.Entry) (Account, error) {
	a := Account{
		Kind:                   KindUser,
		DN:                     e.DN,
		SAMAccountName:         e.GetAttributeValue("sAMAccountName"),
		UserPrincipalName:      e.GetAttributeValue("userPrincipalName"),
		DNSHostName:            e.GetAttributeValue("dNSHostName"),
		DisplayName:            e.GetAttributeValue("displayName"),
		MemberOf:               e.GetAttributeValues("memberOf"),
		IsCriticalSystemObject: strings.EqualFold(e.GetAttributeValue("isCriticalSystemObject"), "TRUE"),
		Info:                   e.GetAttributeValue(attrInfo),
		Description:            e.GetAttributeValue(attrDescription),
		AllowDialin:            e.GetAttributeValue(attrDialIn),
	}
	a.AdminCount, _ = strconv.Atoi(e.GetAttributeValue("adminCount"))
	if rid, err := strconv.ParseUint(e.GetAttributeValue("primaryGroupID"), 10, 32); err == nil {
		a.PrimaryGroupID = uint32(rid)
	}
	for _, class := range e.GetAttributeValues("objectClass") {
		if strings.EqualFold(class, "computer") {
			a.Kind = KindComputer
		}
	}
	var err error
	if a.ObjectGUID, err = decodeGUID(e.GetRawAttributeValue("objectGUID")); err != nil {
		return a, fmt.Errorf("%s: %w", e.DN, err)
	}
	if a.ObjectSID, err = decodeSID(e.GetRawAttributeValue("objectSid")); err != nil {
		return a, fmt.Errorf("%s: %w", e.DN, err)
	}
	// userAccountControl is a signed 32-bit integer in the schema: 0x80000000 and above arrive negative.
	uac, err := strconv.ParseInt(e.GetAttributeValue("userAccountControl"), 10, 32)
	if err != nil {
		return a, fmt.Errorf("%s: userAccountControl: %w", e.DN, err)
	}
	a.UserAccountControl = uint32(int32(uac)) //nolint:gosec // the flags are the two's complement of the signed value
	return a, nil
}
