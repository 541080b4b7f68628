package ldapserver

import (
	"errors"
	"fmt"

	"github.com/jimlambrt/gldap"
)

var errNoSuchEntry = errors.New("no such entry")

// resultError is an LDAP result code with the diagnostic text AD sends, so
// clients that look for "data 52e" or "problem 4003" see what they would
// see against a domain controller.
type resultError struct {
	code      int
	message   string
	matchedDN string
}

func (e *resultError) Error() string {
	return fmt.Sprintf("LDAP result %d: %s", e.code, e.message)
}

// Diagnostic texts as Windows Server 2016-2022 and Samba send them.
func errInvalidCredentials(data string) *resultError {
	// data 52e: unknown user or bad password; 533: account disabled.
	return &resultError{code: gldap.ResultInvalidCredentials, message: "80090308: LdapErr: DSID-0C09041C, comment: AcceptSecurityContext error, data " + data + ", v4563"}
}

func errStrongAuthRequired() *resultError {
	// Samba's wording; Windows refuses the same way when LDAP signing is required.
	return &resultError{code: gldap.ResultStrongAuthRequired, message: "BindSimple: Transport encryption required."}
}

func errUnauthenticatedBind() *resultError {
	return &resultError{code: gldap.ResultUnwillingToPerform, message: "00002028: LdapErr: DSID-0C0902F8, comment: unauthenticated bind (DN with no password) is not allowed, data 0, v4563"}
}

func errBindRequired() *resultError {
	return &resultError{code: gldap.ResultOperationsError, message: "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563"}
}

func errNoSuchObject(matchedDN string) *resultError {
	return &resultError{
		code:      gldap.ResultNoSuchObject,
		message:   fmt.Sprintf("0000208D: NameErr: DSID-0310028D, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'%s'\n", matchedDN),
		matchedDN: matchedDN,
	}
}

// errReferral is AD's answer to a search based in a domain it does not hold. gldap cannot encode the referral
// URL of the LDAPResult, so the access point is in the message only, where AD names it too.
func errReferral(domain string) *resultError {
	return &resultError{
		code:    gldap.ResultReferral,
		message: fmt.Sprintf("0000202B: RefErr: DSID-0310082F, data 0, 1 access points\n\tref 1: '%s'\n", domain),
	}
}

func errInvalidDN(dn string) *resultError {
	return &resultError{code: gldap.ResultInvalidDNSyntax, message: fmt.Sprintf("00002081: NameErr: DSID-03100225, problem 2003 (BAD_NAME), data 8350, best match of:\n\t'%s'\n", dn)}
}

func errInsufficientAccess() *resultError {
	return &resultError{code: gldap.ResultInsufficientAccessRights, message: "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0\n"}
}

func errUnwilling(comment string) *resultError {
	return &resultError{code: gldap.ResultUnwillingToPerform, message: "00002035: LdapErr: DSID-0C090FC5, comment: " + comment + ", data 0, v4563"}
}

func errNoSuchAttribute(attr string) *resultError {
	return &resultError{code: gldap.ResultNoSuchAttribute, message: fmt.Sprintf("00002085: AtrErr: DSID-03152A5B, #1:\n\t0: 00002085: DSID-03152A5B, problem 1001 (NO_ATTRIBUTE_OR_VAL), data 0, Att 90008 (%s)\n", attr)}
}

func errAttributeOrValueExists(attr string) *resultError {
	return &resultError{code: gldap.ResultAttributeOrValueExists, message: fmt.Sprintf("00002083: AtrErr: DSID-03151904, #1:\n\t0: 00002083: DSID-03151904, problem 1006 (ATT_OR_VALUE_EXISTS), data 0, Att 90008 (%s)\n", attr)}
}

func errConstraint(attr string) *resultError {
	return &resultError{code: gldap.ResultConstraintViolation, message: fmt.Sprintf("00002082: AtrErr: DSID-03151F9A, #1:\n\t0: 00002082: DSID-03151F9A, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90008 (%s)\n", attr)}
}

func errInvalidSyntax(attr string) *resultError {
	return &resultError{code: gldap.ResultInvalidAttributeSyntax, message: fmt.Sprintf("00000057: LdapErr: DSID-0C090D8A, comment: Error in attribute conversion operation, data 0, v4563 (%s)", attr)}
}

func errUnavailableCriticalExtension(oid string) *resultError {
	return &resultError{code: gldap.ResultUnavailableCriticalExtension, message: "00002040: SvcErr: DSID-031401ED, problem 5010 (UNAVAIL_EXTENSION), data 0 (" + oid + ")"}
}

// errBusy is a domain controller too busy to carry out a request (LDAP result 51, RFC 4511): nothing was done. The
// text has the shape of Active Directory's service errors; its DSID is made up.
func errBusy() *resultError {
	return &resultError{code: gldap.ResultBusy, message: "00002024: SvcErr: DSID-031A1236, problem 5001 (BUSY), data 0"}
}

// errConnectionDropped is a request answered by dropping the connections: the handler writes nothing.
var errConnectionDropped = errors.New("the connection was dropped before the answer")

func errInvalidCookie() *resultError {
	return &resultError{code: gldap.ResultUnwillingToPerform, message: "00002024: LdapErr: DSID-0C090FC5, comment: Error processing control, data 0, v4563"}
}

func errProtocol(msg string) *resultError {
	return &resultError{code: gldap.ResultProtocolError, message: msg}
}

// asResultError maps any error to a result for the wire; unexpected errors
// become operationsError with their text.
func asResultError(err error) *resultError {
	var re *resultError
	if errors.As(err, &re) {
		return re
	}
	return &resultError{code: gldap.ResultOperationsError, message: err.Error()}
}
