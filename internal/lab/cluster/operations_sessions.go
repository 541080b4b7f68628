package cluster

import "strings"

// disconnectedVPN is one entry of disconnect-vpn-users' answer.
type disconnectedVPN struct {
	UserNames []string `json:"user_names"`
	HostName  string   `json:"host_name"`
	Address   string   `json:"address"`
}

// disconnectVPNUsers emulates disconnect-vpn-users.ps1: it chooses from the statistics the VPN rows whose user
// names or addresses are exactly the given ones (WINDOWS.md, Identities), then disconnects each by its first address
// in its own Disconnect-VpnUser -HostIPAddress call (WINDOWS.md, Disconnect-VpnUser: -UserName and -HostIPAddress
// are exclusive, VPN only). Lingering rows answer ObjectNotFound, which is neither a disconnect nor a failure.
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
	stats := c.statistics(call.server, call.now)
	disconnected, failures := []disconnectedVPN{}, []itemFailure{}
	for _, r := range stats {
		if r.connectionType != connectionTypeVpn || !names.hasAny(r.userNames) && !addresses.hasAny(r.addresses) {
			continue
		}
		if len(r.addresses) == 0 {
			failures = append(failures, itemFailure{Target: strings.Join(r.userNames, ","), Category: "InvalidResult",
				Message: "the connection has no tunnel address to disconnect it by"})
			continue
		}
		done, failed := c.disconnectRows(call.server, stats, r.addresses[:1], call.now)
		failures = append(failures, failed...)
		if len(done) > 0 {
			disconnected = append(disconnected, disconnectedVPN{UserNames: r.userNames, HostName: r.hostName, Address: done[0]})
		}
	}
	return map[string]any{"disconnected": disconnected, "failures": failures}, nil
}

// removedSA is one entry of purge-sas' answer.
type removedSA struct {
	Name             string `json:"name"`
	RemoteEndpoint   string `json:"remote_endpoint"`
	RemoteFirstID    string `json:"remote_first_id"`
	RemoteSecondID   string `json:"remote_second_id"`
	QuickModeRemoved int    `json:"quick_mode_removed"`
}

// purgeSAs emulates purge-sas.ps1: Remove-NetIPsecQuickModeSA then Remove-NetIPsecMainModeSA for every main-mode SA
// of the server (all) or those whose RemoteFirstId or RemoteSecondId is one of the identities (WINDOWS.md, Identities:
// quick-mode SAs carry no identity and go with their main-mode SA). By identity it fails closed, as the user rule
// does, when no SA carries a readable identity. A purged client comes back while its accounts are enabled.
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
	sas := c.mainModeSAs(call.server)
	sel := selection{byIdentity: sas}
	if !in.All {
		sel = selectByIdentity(sas, ids)
	}
	removed := []removedSA{}
	for _, r := range sel.byIdentity {
		quick, gone := c.removeListedSA(call.server, r, call.now)
		if gone == 0 {
			continue
		}
		removed = append(removed, removedSA{Name: r.name, RemoteEndpoint: r.remoteEndpoint, RemoteFirstID: r.firstID(),
			RemoteSecondID: r.secondID(), QuickModeRemoved: quick})
	}
	return map[string]any{"removed": removed, "indeterminate": sel.reason != "", "indeterminate_reason": sel.reason}, nil
}
