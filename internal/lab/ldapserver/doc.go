// Package ldapserver is the lab's stand-in for Active Directory: an in-memory
// domain served over the real LDAP wire protocol (built on
// github.com/jimlambrt/gldap), so the provider's unmodified go-ldap client
// talks to it as it would to a domain controller.
//
// What it emulates, and the fact each behaviour rests on (internal/lab/WINDOWS.md,
// Active Directory, was checked against Samba AD DC 4.17; the rest follows Microsoft's MS-ADTS):
//
//   - LDAPS and StartTLS with a certificate from a generated ECDSA CA
//     (CACertPEM). Simple binds need TLS: over plaintext they fail with
//     strongAuthRequired (8), as on Samba. Names: user@realm, DOMAIN\user, DN.
//     A wrong password or unknown name gives invalidCredentials (49) with
//     "data 52e"; a disabled account gives "data 533", as on Windows.
//   - Without a bind only the root DSE is readable; other searches fail with
//     operationsError (1) and AD's 000004DC text.
//   - The root DSE carries the naming contexts, dnsHostName and
//     supportedControl; CN=Partitions holds the domain's crossRef with
//     nETBIOSName and nCName, which is how clients learn the NetBIOS name.
//   - Filters are evaluated for real: equality is case-insensitive for
//     strings and ignores their leading and trailing spaces, numeric for integers, normalized for DNs, exact for binary
//     (objectGUID; objectSid also accepts "S-1-5-..."); substrings; >= <=;
//     presence; and/or/not; AD's bitwise rules 1.2.840.113556.1.4.803 and
//     .804; LDAP_MATCHING_RULE_IN_CHAIN 1.2.840.113556.1.4.1941 over
//     memberOf (nested groups); the (objectCategory=computer) shorthand. objectClass holds the
//     whole class chain, so (objectClass=user) also matches computers.
//   - objectGUID is sent in Windows byte order (first three groups
//     little-endian); objectSid in binary. Identifiers not in the seed are
//     derived from names, so a seed always yields the same directory.
//   - Subtree searches stay in their naming context (the Configuration
//     partition below the domain head is not returned from a domain search).
//   - Paged results (1.2.840.113556.1.4.319) with AD's MaxPageSize of 1000;
//     an unpaged search that matches more returns 1000 entries and
//     sizeLimitExceeded (4), as AD does.
//   - Writes: only direct members of Domain Admins (RID 512) may write;
//     others get insufficientAccessRights (50). Only userAccountControl, info,
//     description and msNPAllowDialin are writable (info and description at most 1,024
//     UTF-16 code units; replace, or delete-old + add-new which fails with
//     noSuchAttribute (16) when the old value is stale, as on Windows; the
//     permissive-modify control relaxes that). Changing the account-type bits
//     is refused. A DC's own account can be disabled, as on Samba: guarding
//     against that is the client's job.
//   - The domain object's fsmoRoleOwner names the seed's first domain
//     controller (the PDC emulator). Peer gives another controller with its
//     own copy of the objects; Replicate settles userAccountControl, info and
//     description between two peers, last writer wins (peer.go).
//   - Delete makes an account a tombstone (isDeleted), found only with the
//     show-deleted control 1.2.840.113556.1.4.417.
//   - Faults: LoseModifyReplies applies a modify and drops the connection
//     before the reply (faults.go).
//
// Limits of gldap v0.1.14, and how the package deals with them:
//
//   - gldap owns its listener and neither reports the port it bound nor lets
//     Stop finish while a client is connected. A relay in front of each gldap
//     server owns the public port and can drop every connection (relay.go).
//   - gldap passes the filter as text from ldap.DecompileFilter; recompiling
//     it is exact because every value was escaped (filter.go).
//   - gldap hands modify values over as one BER-encoded SET (modify.go).
//   - gldap cannot parse Compare, ModifyDN, Abandon or SASL/NTLM bind
//     requests: it closes the connection (checked for Compare with go-ldap).
//     So Kerberos (GSSAPI) binds cannot be tested against the lab. go-ldap
//     v3.4.15 never sends Abandon, so its searches are unaffected.
//   - gldap cannot send search result references, so the referrals AD
//     returns from a subtree search of the domain are never sent; nor extended
//     response values, so WhoAmI is answered with protocolError.
package ldapserver
