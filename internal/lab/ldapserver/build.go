package ldapserver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// userAccountControl flags (MS-ADTS 2.2.16), internal/lab/WINDOWS.md, Active Directory.
const (
	uacAccountDisable         = 0x2
	uacNormalAccount          = 0x200
	uacWorkstationTrust       = 0x1000
	uacServerTrust            = 0x2000
	uacTrustedForDelegation   = 0x80000
	uacAccountTypeMask        = uacNormalAccount | uacWorkstationTrust | uacServerTrust | 0x800 // 0x800: interdomain trust
	domainControllerUAC       = uacServerTrust | uacTrustedForDelegation                        // 532480, what dcpromo sets
	ridDomainAdmins           = 512
	ridDomainUsers            = 513
	ridDomainComputers        = 515
	ridDomainControllers      = 516
	samTypeUser               = "805306368"
	samTypeMachine            = "805306369"
	samTypeGroup              = "268435456"
	groupTypeGlobalSecurity   = "-2147483646"
	defaultSiteName           = "Default-First-Site-Name"
	defaultComputersContainer = "CN=Computers"
	defaultUsersContainer     = "CN=Users"
	domainControllersOU       = "OU=Domain Controllers"
)

// domainInfo is the fixed frame of the directory: names of the domain and
// its naming contexts.
type domainInfo struct {
	dnsName  string // corp.example
	netbios  string // CORP
	baseDN   string // DC=corp,DC=example
	configDN string // CN=Configuration,DC=corp,DC=example
	schemaDN string // CN=Schema,CN=Configuration,DC=corp,DC=example
	nBase    string // normalized forms of the three
	nConfig  string
	nSchema  string
	sid      sid
	created  time.Time
}

func newDomainInfo(d Domain) (domainInfo, error) {
	labels := strings.Split(strings.ToLower(d.DNSName), ".")
	rdns := make([]string, len(labels))
	for i, l := range labels {
		rdns[i] = rdn("DC", l)
	}
	info := domainInfo{
		dnsName: strings.ToLower(d.DNSName),
		netbios: strings.ToUpper(d.NetBIOSName),
		baseDN:  strings.Join(rdns, ","),
		sid:     domainSID(d.DNSName),
		created: d.Created,
	}
	if info.created.IsZero() {
		info.created = defaultCreated
	}
	if d.SID != "" {
		s, err := parseSID(d.SID)
		if err != nil {
			return domainInfo{}, fmt.Errorf("domain.sid: %w", err)
		}
		info.sid = s
	}
	info.configDN = "CN=Configuration," + info.baseDN
	info.schemaDN = "CN=Schema," + info.configDN
	var err error
	for _, p := range []struct {
		dn  string
		ndn *string
	}{{info.baseDN, &info.nBase}, {info.configDN, &info.nConfig}, {info.schemaDN, &info.nSchema}} {
		if *p.ndn, err = normalizeDN(p.dn); err != nil {
			return domainInfo{}, err
		}
	}
	return info, nil
}

func (d domainInfo) ncOf(ndn string) string {
	switch {
	case isUnder(ndn, d.nSchema):
		return d.nSchema
	case isUnder(ndn, d.nConfig):
		return d.nConfig
	}
	return d.nBase
}

func (d domainInfo) category(name string) string {
	return rdn("CN", name) + "," + d.schemaDN
}

func generalizedTime(t time.Time) string {
	return t.UTC().Format("20060102150405") + ".0Z"
}

func attr(name string, values ...string) attribute {
	return attribute{name: name, values: values}
}

// newEntry assembles an entry at dn (an NC head when parentless is set).
// objectGUID is derived from the DN unless given.
func (d domainInfo) newEntry(dn, guid string, parentless bool, attrs ...attribute) (*entry, error) {
	ndn, err := normalizeDN(dn)
	if err != nil {
		return nil, err
	}
	g, err := objectGUID(guid, ndn)
	if err != nil {
		return nil, err
	}
	e := &entry{dn: dn, ndn: ndn, nc: d.ncOf(ndn)}
	if !parentless {
		e.parent = parentDN(ndn)
	}
	when := generalizedTime(d.created)
	e.attrs = append([]attribute{
		attr("distinguishedName", dn),
		attr("objectGUID", string(g)),
		attr("instanceType", "4"),
		attr("whenCreated", when),
		attr("whenChanged", when),
	}, attrs...)
	return e, nil
}

// frame builds the objects every domain has: the domain head, the default
// containers, and the configuration and schema objects that discovery reads.
func (d domainInfo) frame() ([]*entry, error) {
	type spec struct {
		dn         string
		parentless bool
		attrs      []attribute
	}
	partitions := "CN=Partitions," + d.configDN
	specs := []spec{
		{d.baseDN, true, []attribute{
			attr("objectClass", "top", "domain", "domainDNS"),
			attr("dc", strings.SplitN(d.dnsName, ".", 2)[0]),
			attr("name", strings.SplitN(d.dnsName, ".", 2)[0]),
			attr("objectSid", string(d.sid.bytes())),
			attr("objectCategory", d.category("Domain-DNS")),
			attr("isCriticalSystemObject", "TRUE"),
		}},
		{defaultUsersContainer + "," + d.baseDN, false, containerAttrs(d, "Users", "Default container for upgraded user accounts")},
		{defaultComputersContainer + "," + d.baseDN, false, containerAttrs(d, "Computers", "Default container for upgraded computer accounts")},
		{domainControllersOU + "," + d.baseDN, false, ouAttrs(d, "Domain Controllers", "Default container for domain controllers")},
		{d.configDN, false, []attribute{
			attr("objectClass", "top", "configuration"), attr("cn", "Configuration"), attr("name", "Configuration"),
		}},
		{partitions, false, []attribute{
			attr("objectClass", "top", "crossRefContainer"), attr("cn", "Partitions"), attr("name", "Partitions"),
			attr("systemFlags", "-2147483648"),
		}},
		// The domain's crossRef is how clients learn the NetBIOS name:
		// (&(objectClass=crossRef)(nCName=<defaultNamingContext>)) -> nETBIOSName.
		{rdn("CN", d.netbios) + "," + partitions, false, []attribute{
			attr("objectClass", "top", "crossRef"), attr("cn", d.netbios), attr("name", d.netbios),
			attr("nCName", d.baseDN), attr("nETBIOSName", d.netbios), attr("dnsRoot", d.dnsName),
			attr("systemFlags", "3"), attr("objectCategory", d.category("Cross-Ref")),
		}},
		{"CN=Enterprise Configuration," + partitions, false, []attribute{
			attr("objectClass", "top", "crossRef"), attr("cn", "Enterprise Configuration"), attr("name", "Enterprise Configuration"),
			attr("nCName", d.configDN), attr("dnsRoot", d.dnsName), attr("systemFlags", "1"), attr("objectCategory", d.category("Cross-Ref")),
		}},
		{"CN=Enterprise Schema," + partitions, false, []attribute{
			attr("objectClass", "top", "crossRef"), attr("cn", "Enterprise Schema"), attr("name", "Enterprise Schema"),
			attr("nCName", d.schemaDN), attr("dnsRoot", d.dnsName), attr("systemFlags", "1"), attr("objectCategory", d.category("Cross-Ref")),
		}},
		{"CN=Sites," + d.configDN, false, []attribute{attr("objectClass", "top", "sitesContainer"), attr("cn", "Sites"), attr("name", "Sites")}},
		{rdn("CN", defaultSiteName) + ",CN=Sites," + d.configDN, false, []attribute{attr("objectClass", "top", "site"), attr("cn", defaultSiteName), attr("name", defaultSiteName)}},
		{"CN=Servers," + rdn("CN", defaultSiteName) + ",CN=Sites," + d.configDN, false, []attribute{attr("objectClass", "top", "serversContainer"), attr("cn", "Servers"), attr("name", "Servers")}},
		{d.schemaDN, false, []attribute{attr("objectClass", "top", "dMD"), attr("cn", "Schema"), attr("name", "Schema")}},
	}
	for _, cat := range []string{"Person", "Computer", "Group", "Organizational-Unit", "Container", "Domain-DNS", "Cross-Ref"} {
		specs = append(specs, spec{d.category(cat), false, []attribute{
			attr("objectClass", "top", "classSchema"), attr("cn", cat), attr("name", cat),
			attr("defaultObjectCategory", d.category(cat)),
		}})
	}
	out := make([]*entry, 0, len(specs))
	for _, s := range specs {
		e, err := d.newEntry(s.dn, "", s.parentless, s.attrs...)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// containerAttrs describes a CN= container; a description marks the
// built-in ones (Users, Computers), which are critical system objects.
func containerAttrs(d domainInfo, name, description string) []attribute {
	as := []attribute{
		attr("objectClass", "top", "container"), attr("cn", name), attr("name", name),
		attr("objectCategory", d.category("Container")),
	}
	if description != "" {
		as = append(as, attr("description", description), attr("isCriticalSystemObject", "TRUE"))
	}
	return as
}

func ouAttrs(d domainInfo, name, description string) []attribute {
	as := []attribute{
		attr("objectClass", "top", "organizationalUnit"), attr("ou", name), attr("name", name),
		attr("objectCategory", d.category("Organizational-Unit")),
	}
	if description != "" {
		as = append(as, attr("description", description))
	}
	return as
}

// containerEntries returns the OUs and containers of rel (e.g.
// "OU=Laptops,OU=Workstations") that exists() does not know, outermost first.
func (d domainInfo) containerEntries(rel string, exists func(ndn string) bool) ([]*entry, error) {
	if rel == "" {
		return nil, nil
	}
	parsed, err := ldap.ParseDN(rel)
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", rel, err)
	}
	var out []*entry
	dn := d.baseDN
	for i := len(parsed.RDNs) - 1; i >= 0; i-- {
		r := parsed.RDNs[i]
		if len(r.Attributes) != 1 {
			return nil, fmt.Errorf("container %q: multi-valued RDNs are not supported", rel)
		}
		typ, value := strings.ToUpper(r.Attributes[0].Type), r.Attributes[0].Value
		dn = rdn(typ, value) + "," + dn
		ndn, err := normalizeDN(dn)
		if err != nil {
			return nil, err
		}
		if exists(ndn) {
			continue
		}
		var as []attribute
		switch typ {
		case "OU":
			as = ouAttrs(d, value, "")
		case "CN":
			as = containerAttrs(d, value, "")
		default:
			return nil, fmt.Errorf("container %q: only OU= and CN= are supported", rel)
		}
		e, err := d.newEntry(dn, "", false, as...)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// accountEntry holds what users, computers and groups share.
func (d domainInfo) accountEntry(dn, guid string, rid uint32, sam string, attrs ...attribute) (*entry, error) {
	return d.newEntry(dn, guid, false, append([]attribute{
		attr("sAMAccountName", sam),
		attr("objectSid", string(d.sid.withRID(rid).bytes())),
	}, attrs...)...)
}

func (d domainInfo) computerEntry(c Computer, rid uint32) (*entry, error) {
	container := c.Container
	if container == "" {
		container = defaultComputersContainer
	}
	uac := uacWorkstationTrust
	if c.Disabled {
		uac |= uacAccountDisable
	}
	e, err := d.machineEntry(c.Name, container, c.DNSHostName, c.OperatingSystem, c.ObjectGUID, rid, uac, ridDomainComputers)
	if err != nil {
		return nil, err
	}
	if c.Description != "" {
		e = e.with("description", c.Description)
	}
	e.password = c.Password
	return e, nil
}

func (d domainInfo) domainControllerEntry(dc DomainController, rid uint32) (*entry, error) {
	system := dc.OperatingSystem
	if system == "" {
		system = "Windows Server 2022 Datacenter"
	}
	e, err := d.machineEntry(dc.Name, domainControllersOU, "", system, dc.ObjectGUID, rid, domainControllerUAC, ridDomainControllers)
	if err != nil {
		return nil, err
	}
	return e.with("isCriticalSystemObject", "TRUE"), nil
}

func (d domainInfo) dcHostName(name string) string {
	return strings.ToLower(name) + "." + d.dnsName
}

func (d domainInfo) machineEntry(name, container, host, system, guid string, rid uint32, uac int, primaryGroup uint32) (*entry, error) {
	if name == "" || strings.HasSuffix(name, "$") {
		return nil, fmt.Errorf("computer name %q must be non-empty and without the trailing $", name)
	}
	if host == "" {
		host = d.dcHostName(name)
	}
	as := []attribute{
		attr("objectClass", "top", "person", "organizationalPerson", "user", "computer"),
		attr("cn", name), attr("name", name),
		attr("dNSHostName", host),
		attr("userAccountControl", strconv.Itoa(uac)),
		attr("primaryGroupID", strconv.FormatUint(uint64(primaryGroup), 10)),
		attr("sAMAccountType", samTypeMachine),
		attr("objectCategory", d.category("Computer")),
		attr("servicePrincipalName", "HOST/"+strings.ToUpper(name), "HOST/"+host),
	}
	if system != "" {
		as = append(as, attr("operatingSystem", system))
	}
	return d.accountEntry(rdn("CN", name)+","+container+","+d.baseDN, guid, rid, name+"$", as...)
}

func (d domainInfo) userEntry(u User, rid uint32) (*entry, error) {
	if u.SAMAccountName == "" {
		return nil, fmt.Errorf("user without sam_account_name")
	}
	container := u.Container
	if container == "" {
		container = defaultUsersContainer
	}
	uac := int(u.UserAccountControl)
	if uac == 0 {
		uac = uacNormalAccount
		if u.Disabled {
			uac |= uacAccountDisable
		}
	}
	display := u.DisplayName
	if display == "" {
		display = u.SAMAccountName
	}
	as := []attribute{
		attr("objectClass", "top", "person", "organizationalPerson", "user"),
		attr("cn", display), attr("name", display), attr("displayName", display),
		attr("userAccountControl", strconv.Itoa(uac)),
		attr("primaryGroupID", strconv.Itoa(ridDomainUsers)),
		attr("sAMAccountType", samTypeUser),
		attr("objectCategory", d.category("Person")),
	}
	if !u.NoUserPrincipalName {
		as = append(as, attr("userPrincipalName", u.SAMAccountName+"@"+d.dnsName))
	}
	if u.AdminCount != 0 {
		as = append(as, attr("adminCount", strconv.Itoa(u.AdminCount)))
	}
	if u.GivenName != "" {
		as = append(as, attr("givenName", u.GivenName))
	}
	if u.Surname != "" {
		as = append(as, attr("sn", u.Surname))
	}
	if u.Critical {
		as = append(as, attr("isCriticalSystemObject", "TRUE"))
	}
	e, err := d.accountEntry(rdn("CN", display)+","+container+","+d.baseDN, u.ObjectGUID, rid, u.SAMAccountName, as...)
	if err != nil {
		return nil, err
	}
	e.password = u.Password
	return e, nil
}

func (d domainInfo) groupEntry(g Group, rid uint32, memberDNs []string) (*entry, error) {
	if g.Name == "" {
		return nil, fmt.Errorf("group without name")
	}
	container := g.Container
	if container == "" {
		container = defaultUsersContainer
	}
	as := []attribute{
		attr("objectClass", "top", "group"),
		attr("cn", g.Name), attr("name", g.Name),
		attr("groupType", groupTypeGlobalSecurity),
		attr("sAMAccountType", samTypeGroup),
		attr("objectCategory", d.category("Group")),
	}
	if len(memberDNs) > 0 {
		as = append(as, attr("member", memberDNs...))
	}
	if g.Description != "" {
		as = append(as, attr("description", g.Description))
	}
	if g.Critical {
		as = append(as, attr("isCriticalSystemObject", "TRUE"))
	}
	return d.accountEntry(rdn("CN", g.Name)+","+container+","+d.baseDN, g.ObjectGUID, rid, g.Name, as...)
}

// serverObjects are a DC's entries in the configuration partition; the root
// DSE's serverName and dsServiceName point at them.
func (d domainInfo) serverObjects(dc DomainController, computerDN string) ([]*entry, error) {
	serverDN := d.serverDN(dc.Name)
	server, err := d.newEntry(serverDN, "", false,
		attr("objectClass", "top", "server"), attr("cn", dc.Name), attr("name", dc.Name),
		attr("dNSHostName", d.dcHostName(dc.Name)), attr("serverReference", computerDN))
	if err != nil {
		return nil, err
	}
	ntds, err := d.newEntry("CN=NTDS Settings,"+serverDN, "", false,
		attr("objectClass", "top", "applicationSettings", "nTDSDSA"), attr("cn", "NTDS Settings"), attr("name", "NTDS Settings"),
		attr("options", "1"))
	if err != nil {
		return nil, err
	}
	return []*entry{server, ntds}, nil
}

func (d domainInfo) serverDN(dcName string) string {
	return rdn("CN", dcName) + ",CN=Servers," + rdn("CN", defaultSiteName) + ",CN=Sites," + d.configDN
}
