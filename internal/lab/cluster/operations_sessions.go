package cluster

import "strings"

// disconnectedVPN is one entry of disconnect-vpn-users' answer.
type disconnectedVPN struct {
	UserNames []string `json:"user_names"`
	HostName  string   `json:"host_name"`
	Address   string   `json:"address"`
}

// disconnectVPNUsers emulates the selection the script makes from Get-RemoteAccessConnectionStatistics (VPN
// connections only, exact and case-insensitive user names or tunnel addresses) followed by Disconnect-VpnUser
// -HostIPAddress for each chosen connection (FACTS part 5: -UserName and -HostIPAddress are exclusive, VPN only).
func disconnectVPNUsers(c *Cluster, call call) (any, error) {
	var in struct {
		UserNames       []string `json:"user_names"`
		HostIPAddresses []string `json:"host_ip_addresses"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	names, addresses := newIdentitySet(in.UserNames), newIdentitySet(in.HostIPAddresses)
	if (len(names) > 0) == (len(addresses) > 0) {
		return nil, invalidArgument("user_names,host_ip_addresses", "exactly one of user_names and host_ip_addresses must be given")
	}
	disconnected := []disconnectedVPN{}
	for _, v := range c.vpnOn(call.server) {
		if !names.has(v.userName) && !addresses.has(v.address) {
			continue
		}
		disconnected = append(disconnected, disconnectedVPN{UserNames: []string{v.userName}, HostName: v.hostName, Address: v.address})
		v.drop(call.now)
	}
	return map[string]any{"disconnected": disconnected}, nil
}

// removedSA is one entry of purge-sas' answer.
type removedSA struct {
	Name             string `json:"name"`
	RemoteEndpoint   string `json:"remote_endpoint"`
	RemoteFirstID    string `json:"remote_first_id"`
	RemoteSecondID   string `json:"remote_second_id"`
	QuickModeRemoved int    `json:"quick_mode_removed"`
}

// purgeSAs emulates Remove-NetIPsecQuickModeSA then Remove-NetIPsecMainModeSA for every main-mode SA of the server
// (all) or those whose RemoteFirstId or RemoteSecondId is one of the identities (FACTS part 5: quick-mode SAs carry
// no identity and go with their main-mode SA). A purged client comes back while its accounts are enabled.
func purgeSAs(c *Cluster, call call) (any, error) {
	var in struct {
		Identities []string `json:"identities"`
		All        bool     `json:"all"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	ids := newIdentitySet(in.Identities)
	if in.All == (len(ids) > 0) {
		return nil, invalidArgument("identities,all", "exactly one of identities and all must be given")
	}
	removed := []removedSA{}
	c.tunnelsOn(call.server, func(s *session, t *tunnel) {
		if !in.All && !ids.has(t.first.Identity) && !ids.has(t.second.Identity) {
			return
		}
		sa := removedSA{Name: t.mainMode, RemoteEndpoint: s.client.address(), RemoteFirstID: t.first.Identity, RemoteSecondID: t.second.Identity}
		sa.QuickModeRemoved = removeTunnel(t, call.now)
		removed = append(removed, sa)
	})
	return map[string]any{"removed": removed}, nil
}

// sameServer compares server names as the cluster does: case-insensitively.
func sameServer(a, b string) bool { return strings.EqualFold(a, b) }
