package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The emulations of the scripts that select sessions: each mirrors its scripts/*.ps1 file (the JSON contract is
// internal/remoteaccess/scripts/CONTRACT.md) on the rows of rows.go.

type connection struct {
	UserNames                 []string `json:"user_names"`
	HostName                  string   `json:"host_name"`
	ClientIPAddress           string   `json:"client_ip_address"`
	ClientIPAddresses         []string `json:"client_ip_addresses"`
	ClientExternalAddress     string   `json:"client_external_address"`
	ConnectionType            string   `json:"connection_type"`
	TunnelType                string   `json:"tunnel_type"`
	TransitionTechnology      string   `json:"transition_technology"`
	AuthMethod                string   `json:"auth_method"`
	ConnectionDurationSeconds int64    `json:"connection_duration_seconds"`
	ConnectionStartTime       string   `json:"connection_start_time"`
	TotalBytesIn              int64    `json:"total_bytes_in"`
	TotalBytesOut             int64    `json:"total_bytes_out"`
	UserActivityState         string   `json:"user_activity_state"`
	Server                    string   `json:"server"`
}

func (r statRow) connection(server string) connection {
	conn := connection{
		UserNames: r.userNames, HostName: r.hostName, ClientIPAddresses: r.addresses,
		ClientExternalAddress: r.external, ConnectionType: r.connectionType, TunnelType: r.tunnelType,
		TransitionTechnology: r.transition, AuthMethod: r.authMethod, ConnectionDurationSeconds: r.duration,
		TotalBytesIn: r.bytesIn, TotalBytesOut: r.bytesOut, UserActivityState: r.activity, Server: server,
	}
	if conn.UserNames == nil {
		conn.UserNames = []string{}
	}
	if conn.ClientIPAddresses == nil {
		conn.ClientIPAddresses = []string{}
	}
	if len(r.addresses) > 0 {
		conn.ClientIPAddress = r.addresses[0]
	}
	if !r.start.IsZero() {
		conn.ConnectionStartTime = r.start.UTC().Format(time.RFC3339)
	}
	return conn
}

func getConnections(c *Cluster, call call) (any, error) {
	var in struct {
		UserName string `json:"user_name"`
		HostName string `json:"host_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	conns := []connection{}
	for _, r := range c.statistics(call.server, call.now) {
		if in.UserName != "" && !newIdentitySet([]string{in.UserName}).hasAny(r.userNames) {
			continue
		}
		if in.HostName != "" && !strings.EqualFold(r.hostName, in.HostName) {
			continue
		}
		conns = append(conns, r.connection(call.server))
	}
	return map[string]any{"connections": conns}, nil
}

type mainModeSA struct {
	Name             string `json:"name"`
	LocalEndpoint    string `json:"local_endpoint"`
	RemoteEndpoint   string `json:"remote_endpoint"`
	RemoteFirstID    string `json:"remote_first_id"`
	RemoteSecondID   string `json:"remote_second_id"`
	AuthMethodFirst  string `json:"auth_method_first"`
	AuthMethodSecond string `json:"auth_method_second"`
	CipherAlgorithm  string `json:"cipher_algorithm"`
	HashAlgorithm    string `json:"hash_algorithm"`
	MatchedBy        string `json:"matched_by"`
	QuickModeCount   int    `json:"quick_mode_count"`
}

func (r saRow) view(matchedBy string) mainModeSA {
	return mainModeSA{
		Name: r.name, LocalEndpoint: r.localEndpoint, RemoteEndpoint: r.remoteEndpoint,
		RemoteFirstID: r.firstID(), AuthMethodFirst: idMethod(r.first),
		RemoteSecondID: r.secondID(), AuthMethodSecond: idMethod(r.second),
		CipherAlgorithm: algorithmName(r.cipher, cipherNames), HashAlgorithm: algorithmName(r.hash, hashNames),
		MatchedBy: matchedBy, QuickModeCount: r.quickMode,
	}
}

type vpnView struct {
	UserNames           []string `json:"user_names"`
	HostName            string   `json:"host_name"`
	ClientIPAddresses   []string `json:"client_ip_addresses"`
	TunnelType          string   `json:"tunnel_type"`
	AuthMethod          string   `json:"auth_method"`
	ConnectionStartTime string   `json:"connection_start_time"`
	DeviceTunnel        bool     `json:"device_tunnel"`
}

// getIPsecSAs emulates get-ipsec-sas.ps1: main-mode SAs by identity (and by shared endpoint), their quick-mode SAs
// counted through their main-mode SA (quick-mode SAs have no identity), the VPN connections of the identities, and
// the fail-closed verdict.
func getIPsecSAs(c *Cluster, call call) (any, error) {
	var in lookInput
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	return c.look(call, in)
}

// lookInput is get-ipsec-sas/v1's input, and the look of a purge-devices/v1 batch.
type lookInput struct {
	Identities []string `json:"identities"`
	Device     bool     `json:"device"`
}

// look lists what the server holds now for the identities (include/ipsec-look.ps1).
func (c *Cluster) look(call call, in lookInput) (map[string]any, error) {
	if c.failListing[strings.ToUpper(call.server)] {
		return nil, &scriptError{Category: "ResourceUnavailable", Target: call.server,
			Message: "Get-NetIPsecQuickModeSA: the IPsec service did not answer (lab fault)."}
	}
	ids := newIdentitySet(in.Identities)
	sas, stats := c.mainModeSAs(call.server), c.statistics(call.server, call.now)
	mainMode, quick, reason, hosts := []mainModeSA{}, 0, "", []string{}
	if len(ids) == 0 {
		for _, r := range sas {
			mainMode, quick = append(mainMode, r.view("identity")), quick+r.quickMode
		}
	} else {
		sel := selectDevice(sas, stats, ids, ids)
		if !in.Device { // a user's SAs are never grouped by endpoint: the device's tunnels share it
			sel = selectByIdentity(sas, ids)
		}
		reason = sel.reason
		hosts = append(hosts, sel.hosts...)
		for _, r := range sas { // in the order Get-NetIPsecMainModeSA lists them
			switch {
			case slices.ContainsFunc(sel.byIdentity, func(o saRow) bool { return o.name == r.name }):
				mainMode, quick = append(mainMode, r.view("identity")), quick+r.quickMode
			case slices.ContainsFunc(sel.byEndpoint, func(o saRow) bool { return o.name == r.name }):
				mainMode, quick = append(mainMode, r.view("endpoint")), quick+r.quickMode
			}
		}
	}
	vpn := []vpnView{}
	for _, r := range stats {
		if r.connectionType != connectionTypeVpn || len(ids) > 0 && !ids.hasAny(r.userNames) && !ids.has(r.hostName) {
			continue
		}
		conn := r.connection(call.server)
		vpn = append(vpn, vpnView{UserNames: conn.UserNames, HostName: r.hostName, ClientIPAddresses: conn.ClientIPAddresses,
			TunnelType: r.tunnelType, AuthMethod: r.authMethod, ConnectionStartTime: conn.ConnectionStartTime,
			DeviceTunnel: strings.EqualFold(r.authMethod, authMachineCertificate)})
	}
	return map[string]any{"main_mode": mainMode, "quick_mode_count": quick, "vpn_connections": vpn,
		"indeterminate": reason != "", "indeterminate_reason": reason, "indeterminate_host_names": hosts}, nil
}

func requireIdentities(ids identitySet) error {
	if len(ids) == 0 {
		return invalidArgument("identities", "identities must name at least one identity")
	}
	return nil
}

// itemFailure is one name or address a script could not disconnect while it went on with the others.
type itemFailure struct {
	Target   string `json:"target"`
	Category string `json:"category"`
	Message  string `json:"message"`
}

// disconnectRows emulates one Disconnect-VpnUser call per target (an address or a user name, as the statistics
// print it), as the scripts make them so that one failure does not hide the others. A target whose only rows are
// lingering or already gone answers ObjectNotFound, which the scripts do not count as a failure; the lab's
// FailDisconnect switch makes a target fail otherwise. It returns the targets disconnected and the failures.
func (c *Cluster) disconnectRows(server string, rows []statRow, targets []string, now time.Time) (done []string, failures []itemFailure) {
	for _, target := range targets {
		if c.failDisconnect[strings.ToLower(target)] {
			failures = append(failures, itemFailure{Target: target, Category: "InvalidOperation",
				Message: "The remote access server could not disconnect " + target + "."})
			continue
		}
		if dnsFormUserName(target) {
			continue // ObjectNotFound (WINDOWS.md, Disconnect-VpnUser): neither a disconnect nor, to the scripts, a failure
		}
		hit := false
		for _, r := range rows {
			if !slices.ContainsFunc(append(slices.Clone(r.addresses), r.userNames...), func(s string) bool { return strings.EqualFold(s, target) }) {
				continue
			}
			switch {
			case r.vpn != nil && r.vpn.up:
				c.disconnect(r.vpn, now)
				hit = true
			case r.captured:
				c.dropCapturedRow(server, r)
				hit = true
			}
		}
		if hit {
			done = append(done, target)
		}
	}
	return done, failures
}

// dnsFormUserName reports whether a Disconnect-VpnUser target is a user name in the form dns.domain\user. The
// cmdlet documents -UserName as DOMAIN\USERNAME only; what Windows answers for the DNS form is not documented, so
// the lab answers ObjectNotFound, the answer that would make such a miss silent.
func dnsFormUserName(target string) bool {
	domain, _, found := strings.Cut(target, `\`)
	return found && strings.Contains(domain, ".")
}

// vpnTargets lists, without repeats, the first address of the VPN rows that accept accepts: one address per
// connection, as the scripts disconnect them (its other addresses name the same tunnel).
func vpnTargets(rows []statRow, accept func(statRow) bool) []string {
	var targets []string
	for _, r := range rows {
		if r.connectionType != connectionTypeVpn || !accept(r) || len(r.addresses) == 0 {
			continue
		}
		if v := r.addresses[0]; !slices.ContainsFunc(targets, func(t string) bool { return strings.EqualFold(t, v) }) {
			targets = append(targets, v)
		}
	}
	return targets
}

// purgeDevice emulates purge-device.ps1 for one device (include/device-purge.ps1).
func purgeDevice(c *Cluster, call call) (any, error) {
	var in deviceInput
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	return c.purgeOneDevice(call, in, c.mainModeSAs(call.server), c.statistics(call.server, call.now))
}

// deviceInput is one device of purge-device/v1 and of purge-devices/v1.
type deviceInput struct {
	Identities    []string `json:"identities"`
	ComputerName  string   `json:"computer_name"`
	DisconnectVPN bool     `json:"disconnect_vpn"`
}

// purgeDevices emulates purge-devices.ps1: the SAs and the statistics are listed once, then each device is purged
// as purge-device.ps1 purges one, from those lists, in a try of its own: a device whose purge fails gets an error
// entry and the next one is still purged. A look, when asked, lists the server afterwards as get-ipsec-sas.ps1 does.
func purgeDevices(c *Cluster, call call) (any, error) {
	var in struct {
		Devices []deviceInput `json:"devices"`
		Look    *lookInput    `json:"look"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	if len(in.Devices) == 0 {
		return nil, invalidArgument("devices", "devices must name at least one device")
	}
	stats := c.statistics(call.server, call.now)
	sas := c.mainModeSAs(call.server)
	results := make([]map[string]any, len(in.Devices))
	for i, device := range in.Devices {
		result, err := c.purgeOneDevice(call, device, sas, stats)
		if err != nil {
			se := asScriptError(err)
			results[i] = map[string]any{"error": se}
			continue
		}
		results[i] = result
	}
	out := map[string]any{"devices": results, "look": nil, "look_error": nil}
	if in.Look != nil { // after every device of the batch, from the server as the purges left it
		if look, err := c.look(call, *in.Look); err != nil {
			out["look_error"] = asScriptError(err)
		} else {
			out["look"] = look
		}
	}
	return out, nil
}

// purgeOneDevice purges one device, selecting from the listed SAs and statistics rows.
func (c *Cluster) purgeOneDevice(call call, in deviceInput, sas []saRow, stats []statRow) (map[string]any, error) {
	ids := newIdentitySet(in.Identities)
	if err := requireIdentities(ids); err != nil {
		return nil, err
	}
	hostNames := newIdentitySet(append(slices.Clone(in.Identities), in.ComputerName))
	sel := selectDevice(sas, stats, ids, hostNames)
	mainRemoved, quickRemoved := 0, 0
	for _, r := range append(sel.byIdentity, sel.byEndpoint...) {
		if !c.stillListed(call.server, r) {
			continue // removed by an earlier device of the batch: ObjectNotFound, neither removed nor a failure
		}
		if err := c.saRemovalFault(call.server, r); err != nil {
			return nil, err // the script throws: what it removed before stays removed
		}
		quick, removed := c.removeListedSA(call.server, r, call.now)
		quickRemoved += quick
		mainRemoved += removed
	}
	tunnels, failures := 0, []itemFailure{}
	if in.DisconnectVPN {
		targets := vpnTargets(stats, func(r statRow) bool { return ids.hasAny(r.userNames) || hostNames.has(r.hostName) })
		var done []string
		done, failures = c.disconnectRows(call.server, stats, targets, call.now)
		tunnels = len(done)
		if failures == nil {
			failures = []itemFailure{}
		}
	}
	return map[string]any{
		"main_mode_removed": mainRemoved, "main_mode_matched_by_endpoint": len(sel.byEndpoint), "quick_mode_removed": quickRemoved,
		"vpn_device_tunnels_disconnected": tunnels, "vpn_disconnect_failures": failures,
		"indeterminate": sel.reason != "", "indeterminate_reason": sel.reason,
	}, nil
}

// stillListed reports whether a main-mode SA listed earlier in the script is still on the server.
func (c *Cluster) stillListed(server string, r saRow) bool {
	if r.tunnel != nil {
		return r.tunnel.up && r.tunnel.mainMode == r.name
	}
	return slices.ContainsFunc(c.captured[server].sas, func(o saRow) bool { return o.name == r.name })
}

// asScriptError is the {"error":{...}} entry a script writes for err.
func asScriptError(err error) *scriptError {
	var se *scriptError
	if !errors.As(err, &se) {
		se = &scriptError{Category: "InvalidOperation", Message: err.Error()}
	}
	return se
}

// purgeUser emulates purge-user.ps1: the intranet-tunnel SAs whose RemoteSecondId (user Kerberos) is the user, and
// the user's VPN connections, each disconnected by its first tunnel address (Disconnect-VpnUser -HostIPAddress):
// -UserName documents only DOMAIN\USERNAME, and the statistics may print the user as dns.domain\user.
func purgeUser(c *Cluster, call call) (any, error) {
	var in struct {
		Identities []string `json:"identities"`
		UserName   string   `json:"user_name"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	ids := newIdentitySet(append(slices.Clone(in.Identities), in.UserName))
	if err := requireIdentities(ids); err != nil {
		return nil, err
	}
	sas := c.mainModeSAs(call.server)
	reason := ""
	if len(sas) > 0 && !slices.ContainsFunc(sas, saRow.readable) {
		reason = noReadableIdentity(len(sas))
	}
	mainRemoved, quickRemoved := 0, 0
	for _, r := range sas {
		if ids.has(r.secondID()) {
			quick, removed := c.removeListedSA(call.server, r, call.now)
			quickRemoved += quick
			mainRemoved += removed
		}
	}
	stats := c.statistics(call.server, call.now)
	mine := func(r statRow) bool { return ids.hasAny(r.userNames) }
	done, failures := c.disconnectRows(call.server, stats, vpnTargets(stats, mine), call.now)
	failures = append(failures, noAddressFailures(stats, mine)...)
	return map[string]any{"main_mode_removed": mainRemoved, "quick_mode_removed": quickRemoved,
		"vpn_connections_disconnected": len(done), "vpn_disconnect_failures": failures,
		"indeterminate": reason != "", "indeterminate_reason": reason}, nil
}

// noAddressFailures are the failures the scripts list for VPN rows they select but cannot disconnect: a row with no
// tunnel address to disconnect it by. Never nil, so that the answer prints an empty list.
func noAddressFailures(rows []statRow, accept func(statRow) bool) []itemFailure {
	failures := []itemFailure{}
	for _, r := range rows {
		if r.connectionType == connectionTypeVpn && accept(r) && len(r.addresses) == 0 {
			failures = append(failures, itemFailure{Target: strings.Join(r.userNames, ","), Category: "InvalidResult",
				Message: "the connection has no tunnel address to disconnect it by"})
		}
	}
	return failures
}

// disconnectVPN emulates disconnect-vpn.ps1: the VPN connections of one user (as the statistics print the name) or
// holding one address, each disconnected by its first address in its own Disconnect-VpnUser -HostIPAddress
// -PassThru call. It answers the name or address for each it disconnected, once. DirectAccess is not touched.
func disconnectVPN(c *Cluster, call call) (any, error) {
	var in struct {
		UserName      string `json:"user_name"`
		HostIPAddress string `json:"host_ip_address"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	if (in.UserName == "") == (in.HostIPAddress == "") {
		return nil, invalidArgument("user_name,host_ip_address", "exactly one of user_name and host_ip_address must be given")
	}
	stats := c.statistics(call.server, call.now)
	want := newIdentitySet([]string{in.UserName, in.HostIPAddress})
	label := func(r statRow) string { // the name or address as the statistics print it, "" when the row is not wanted
		values := r.userNames
		if in.HostIPAddress != "" {
			values = r.addresses
		}
		if i := slices.IndexFunc(values, want.has); i >= 0 {
			return values[i]
		}
		return ""
	}
	wanted := func(r statRow) bool { return label(r) != "" }
	done, failures := c.disconnectRows(call.server, stats, vpnTargets(stats, wanted), call.now)
	failures = append(failures, noAddressFailures(stats, wanted)...)
	disconnected := []string{}
	for _, r := range stats {
		if l := label(r); r.connectionType == connectionTypeVpn && l != "" && len(r.addresses) > 0 &&
			slices.Contains(done, r.addresses[0]) && !slices.Contains(disconnected, l) {
			disconnected = append(disconnected, l)
		}
	}
	return map[string]any{"disconnected": disconnected, "failures": failures}, nil
}

// stopComputer emulates stop-computer.ps1. The script runs in a WinRM session, where Stop-Computer (WMI over DCOM
// in Windows PowerShell 5.1) reaching the client is a second hop Windows refuses (WINDOWS.md, Manage-out shutdown): without an explicit
// credential the script refuses up front. With one, the server reaches a DirectAccess client over its
// infrastructure tunnel, so the client must be connected; a client shut down stays off: its tunnels and device
// tunnel do not come back. The lab does not check the credential's password (documentation silent on what a wrong
// one returns); it must be present.
func stopComputer(c *Cluster, call call) (any, error) {
	var in struct {
		ComputerName string `json:"computer_name"`
		Credential   *struct {
			UserName string `json:"user_name"`
			Password string `json:"password"`
		} `json:"credential"`
	}
	if err := decodeInput(call.input, &in); err != nil {
		return nil, err
	}
	if in.ComputerName == "" {
		return nil, invalidArgument("computer_name", "computer_name must be given")
	}
	if in.Credential == nil || in.Credential.UserName == "" || in.Credential.Password == "" {
		return nil, &scriptError{Category: "PermissionDenied", Target: "credential", Message: fmt.Sprintf(
			"refusing to shut %s down without explicit credentials: this command runs in a WinRM session on %s, and "+
				"Stop-Computer reaches %s with that session's logon through WMI over DCOM, a second hop that Windows "+
				"refuses unless credentials are passed explicitly (or delegation is configured)", in.ComputerName, call.server, in.ComputerName)}
	}
	var target *daClient
	for _, s := range c.sessions {
		client := s.client
		if s.anyUp() && (strings.EqualFold(client.fqdn, in.ComputerName) || strings.EqualFold(client.seed.Computer, in.ComputerName)) {
			target = client
		}
	}
	if target == nil {
		return nil, &scriptError{Category: "ResourceUnavailable", Target: in.ComputerName,
			Message: fmt.Sprintf("Failed to stop the computer %s: the RPC server is unavailable.", in.ComputerName)}
	}
	target.off = true
	for _, s := range c.sessions {
		if s.client == target {
			for _, t := range s.tunnels {
				removeTunnel(t, call.now)
			}
		}
	}
	for _, v := range c.vpn {
		if v.seed.User == "" && strings.EqualFold(v.seed.Computer, target.seed.Computer) {
			v.off = true
			c.disconnect(v, call.now)
		}
	}
	// Stop-Computer does not wait for the shutdown: the script never reports it confirmed, and an error raised after
	// the request is only a detail (WINDOWS.md, Manage-out shutdown).
	detail := "Stop-Computer returned without error; it does not wait for the shutdown"
	if c.shutdownIndeterminate[strings.ToUpper(call.server)] {
		detail = "Stop-Computer reported OperationStopped after the request was made: the RPC connection to " +
			in.ComputerName + " ended before the result was read."
	}
	return map[string]any{"requested": true, "confirmed": false, "detail": detail}, nil
}

// removeTunnel emulates Remove-NetIPsecQuickModeSA for the tunnel's quick-mode SAs, then Remove-NetIPsecMainModeSA.
func removeTunnel(t *tunnel, now time.Time) (quick int) {
	quick, t.quickMode = t.quickMode, 0
	t.mainMode = ""
	t.drop(now)
	return quick
}

// tunnelsOn lists the tunnels up on a server with the session they belong to.
func (c *Cluster) tunnelsOn(server string, fn func(*session, *tunnel)) {
	for _, s := range c.sessions {
		if s.server != server {
			continue
		}
		for _, t := range s.tunnels {
			if t.up {
				fn(s, t)
			}
		}
	}
}
