package remoteaccess

import "strings"

// DeviceIdentities returns the identities a computer can appear under in IPsec SAs and VPN device tunnels
// (FACTS part 5: DOMAIN\NAME$ for computer NTLM, the FQDN or NAME$@domain for certificates and Kerberos), to be
// matched exactly. computerName is the NetBIOS name without "$"; dnsHostName may be empty.
func DeviceIdentities(netbiosDomain, computerName, dnsHostName string) []string {
	account := strings.TrimSuffix(computerName, "$") + "$"
	ids := []string{netbiosDomain + `\` + account}
	if dnsHostName != "" {
		ids = append(ids, dnsHostName)
		if _, domain, ok := strings.Cut(dnsHostName, "."); ok {
			ids = append(ids, account+"@"+domain)
		}
	}
	return ids
}

// UserIdentities returns the identities a user can appear under: DOMAIN\user and, when known, the UPN.
func UserIdentities(netbiosDomain, sAMAccountName, userPrincipalName string) []string {
	ids := []string{netbiosDomain + `\` + sAMAccountName}
	if userPrincipalName != "" {
		ids = append(ids, userPrincipalName)
	}
	return ids
}
