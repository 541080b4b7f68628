package ldapserver

import (
	"strconv"
	"strings"
	"time"
)

// Controls the lab honours. AD advertises many more; only these are listed so
// a client never relies on one the lab ignores.
const (
	controlPagedResults     = "1.2.840.113556.1.4.319"
	controlSDFlags          = "1.2.840.113556.1.4.801"  // only shapes nTSecurityDescriptor, which the lab never returns
	controlShowDeleted      = "1.2.840.113556.1.4.417"  // there are no deleted objects
	controlDomainScope      = "1.2.840.113556.1.4.1339" // the lab never sends referrals anyway
	controlPermissiveModify = "1.2.840.113556.1.4.1413"
	controlManageDsaIT      = "2.16.840.1.113730.3.4.2"
)

var supportedControls = []string{
	controlPagedResults, controlSDFlags, controlShowDeleted, controlDomainScope, controlPermissiveModify, controlManageDsaIT,
}

// maxPageSize is AD's default MaxPageSize policy: no page, and no unpaged
// search, returns more entries than this.
const maxPageSize = 1000

// rootDSE is built per request: currentTime and highestCommittedUSN move.
func (d *Directory) rootDSE() *entry {
	dom := d.dom
	host := d.DNSHostName()
	server := d.dom.serverDN(d.dc.Name)
	level := "7" // Windows Server 2016 functional level
	return &entry{attrs: []attribute{
		attr("objectClass", "top"),
		attr("currentTime", generalizedTime(time.Now())),
		attr("subschemaSubentry", "CN=Aggregate,"+dom.schemaDN),
		attr("dsServiceName", "CN=NTDS Settings,"+server),
		attr("namingContexts", dom.baseDN, dom.configDN, dom.schemaDN),
		attr("defaultNamingContext", dom.baseDN),
		attr("rootDomainNamingContext", dom.baseDN),
		attr("configurationNamingContext", dom.configDN),
		attr("schemaNamingContext", dom.schemaDN),
		attr("serverName", server),
		attr("dnsHostName", host),
		attr("ldapServiceName", dom.dnsName+":"+strings.ToLower(d.dc.Name)+"$@"+strings.ToUpper(dom.dnsName)),
		attr("supportedControl", supportedControls...),
		attr("supportedLDAPVersion", "3", "2"),
		attr("supportedLDAPPolicies", "MaxPageSize", "MaxResultSetsPerConn", "MaxQueryDuration", "MaxConnIdleTime"),
		// Advertised as AD does. The lab itself accepts simple binds only:
		// gldap v0.1.14 cannot parse a SASL bind and drops the connection.
		attr("supportedSASLMechanisms", "GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5"),
		attr("supportedCapabilities", "1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1670", "1.2.840.113556.1.4.1791", "1.2.840.113556.1.4.1935"),
		attr("highestCommittedUSN", strconv.FormatInt(d.store.highestUSN(), 10)),
		attr("isSynchronized", "TRUE"),
		attr("isGlobalCatalogReady", "TRUE"),
		attr("domainFunctionality", level),
		attr("forestFunctionality", level),
		attr("domainControllerFunctionality", level),
	}}
}
