package directory

import "strings"

// DeviceIdentities returns the exact identity strings under which a computer can appear in IPsec
// main-mode SAs (RemoteFirstId / RemoteSecondId): DOMAIN\NAME$ (NTLM), the principal name NAME$@dnsroot
// (Kerberos), and the FQDN (certificates). Match them exactly and case-insensitively, never as patterns.
// When dNSHostName is empty (the account was never joined) the FQDN is assumed to be NAME.dnsroot.
func DeviceIdentities(acct Account, dom DomainInfo) []string {
	sam := acct.SAMAccountName
	if !strings.HasSuffix(sam, "$") {
		sam += "$"
	}
	fqdn := acct.DNSHostName
	if fqdn == "" && dom.DNSRoot != "" {
		fqdn = strings.ToLower(acct.Name()) + "." + dom.DNSRoot
	}
	return uniqueFold(
		downLevel(dom, sam),
		acct.UserPrincipalName,
		principal(sam, dom),
		fqdn,
	)
}

// UserIdentities returns the identities of a user: DOMAIN\user and the user principal names
// (the explicit userPrincipalName and the implicit sAMAccountName@dnsroot, which also authenticates).
func UserIdentities(acct Account, dom DomainInfo) []string {
	return uniqueFold(
		downLevel(dom, acct.SAMAccountName),
		acct.UserPrincipalName,
		principal(acct.SAMAccountName, dom),
	)
}

// VPNUserNames returns the names under which Get-RemoteAccessConnectionStatistics can print a user's VPN
// connection: NETBIOS\user and dns.domain\user (the cmdlet's own example prints corp.contoso.com\remoteuser1).
// Send them with the user's identities, so that exact matching finds the user whichever form a server prints.
func VPNUserNames(acct Account, dom DomainInfo) []string {
	dnsForm := ""
	if dom.DNSRoot != "" && acct.SAMAccountName != "" {
		dnsForm = strings.ToLower(dom.DNSRoot) + `\` + acct.SAMAccountName
	}
	return uniqueFold(downLevel(dom, acct.SAMAccountName), dnsForm)
}

func downLevel(dom DomainInfo, sam string) string {
	if dom.NetBIOSName == "" || sam == "" {
		return ""
	}
	return strings.ToUpper(dom.NetBIOSName) + `\` + sam
}

func principal(sam string, dom DomainInfo) string {
	if dom.DNSRoot == "" || sam == "" {
		return ""
	}
	return sam + "@" + strings.ToLower(dom.DNSRoot)
}

// uniqueFold drops empty strings and case-insensitive duplicates, keeping the first spelling.
func uniqueFold(values ...string) []string {
	out := make([]string, 0, len(values))
	seen := map[string]bool{}
	for _, v := range values {
		key := strings.ToLower(v)
		if v == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, v)
	}
	return out
}
