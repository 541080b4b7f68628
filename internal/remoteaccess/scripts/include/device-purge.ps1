# remoteaccess-include: device-purge
#
# How purge-device/v1 and purge-devices/v1 cut one device off this server (CONTRACT.md, section purge-device). The
# script includes sa-identity, connection-addresses and remove-sa before this helper, and lists the server's SAs and
# connection statistics once.
# Main-mode SAs whose RemoteFirstId or RemoteSecondId identity is one of the device's identities are removed, their
# quick-mode SAs first; so are the SAs that share an IPv6 remote endpoint with one of them (certificate-authenticated
# DirectAccess: the intranet tunnel may carry a certificate subject, not an account name). With disconnect_vpn, the
# VPN connections whose user name is one of the identities or whose host name is computer_name are disconnected one
# address at a time, so one failure does not hide the others.
# Identities are compared exactly and case-insensitively through a HashSet: never a wildcard or substring
# ("*client1*" would also match client10).
# Fails closed: "indeterminate" is set when the server lists SAs but none carries a readable identity, or when an
# address of the device's DirectAccess connection is on SAs that matched by no identity.
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   Disconnect-VpnUser -HostIPAddress -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser

# Invoke-DevicePurge purges one device ({identities, computer_name, disconnect_vpn}) given the server's main-mode SAs
# ($all) and connection statistics ($rows), and returns its result document. It throws on a failure other than
# ObjectNotFound; what it removed before stays removed.
function Invoke-DevicePurge($device, $all, $rows) {
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($device.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    if ($ids.Count -eq 0) {
        $ex = [System.ArgumentException]::new('identities must name at least one identity')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyIdentities', 'InvalidArgument', 'identities')
    }
    $computerName = [string]$device.computer_name
    # Host names are the identities and the computer name (statistics may print either).
    $hostNames = [System.Collections.Generic.HashSet[string]]::new($ids, [System.StringComparer]::OrdinalIgnoreCase)
    if ($computerName) { [void]$hostNames.Add($computerName) }

    $deviceAddresses = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($c in $rows) {
        if ([string]$c.ConnectionType -eq 'DirectAccess' -and $hostNames.Contains([string]$c.HostName)) {
            foreach ($a in @(Get-RowAddresses $c)) { [void]$deviceAddresses.Add($a) }
        }
    }
    $byIdentity = @()
    $unmatched = @()
    $readable = 0
    foreach ($mm in $all) {
        $first = (Get-IdText $mm.RemoteFirstId)
        $second = (Get-IdText $mm.RemoteSecondId)
        if ($first -or $second) { $readable++ }
        if ($ids.Contains($first) -or $ids.Contains($second)) { $byIdentity += $mm } else { $unmatched += $mm }
    }
    $endpoints = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($mm in $byIdentity) { if (Test-IPv6 ([string]$mm.RemoteEndpoint)) { [void]$endpoints.Add([string]$mm.RemoteEndpoint) } }
    $byEndpoint = @($unmatched | Where-Object { $endpoints.Contains([string]$_.RemoteEndpoint) })
    $unexplained = @($unmatched | Where-Object { $deviceAddresses.Contains([string]$_.RemoteEndpoint) -and -not $endpoints.Contains([string]$_.RemoteEndpoint) })

    $reason = ''
    if ($all.Count -gt 0 -and $readable -eq 0) {
        $reason = "none of the $($all.Count) main-mode SAs on this server carries a readable remote identity"
    } elseif ($unexplained.Count -gt 0) {
        $reason = "the device's DirectAccess address $([string]$unexplained[0].RemoteEndpoint) is on $($unexplained.Count) main-mode SA(s) that match none of its identities"
    }

    $mainRemoved = 0
    $quickRemoved = 0
    foreach ($mm in @($byIdentity) + @($byEndpoint)) {
        $removed = Remove-MainModeSA $mm
        if ($removed.main) { $mainRemoved++ }
        $quickRemoved += $removed.quick
    }

    $tunnels = 0
    $failures = @()
    if ($device.disconnect_vpn) {
        $addresses = [System.Collections.Generic.List[string]]::new()
        foreach ($c in $rows) {
            if ([string]$c.ConnectionType -ne 'Vpn') { continue }
            $byName = @(@($c.UserName) | Where-Object { $_ -and $ids.Contains([string]$_) }).Count -gt 0
            $byHost = $hostNames.Contains([string]$c.HostName)
            if ($byName -or $byHost) {
                # One address per connection: its other addresses name the same tunnel, gone once it is disconnected.
                $first = @(Get-RowAddresses $c) | Select-Object -First 1
                if ($first -and -not $addresses.Contains([string]$first)) { $addresses.Add([string]$first) }
            }
        }
        foreach ($a in $addresses) {
            try {
                $tunnels += @(Disconnect-VpnUser -HostIPAddress $a -PassThru -Confirm:$false).Count
            } catch {
                if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') {
                    $failures += @{ target = $a; category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message }
                }
            }
        }
    }
    @{
        main_mode_removed               = $mainRemoved
        main_mode_matched_by_endpoint   = $byEndpoint.Count
        quick_mode_removed              = $quickRemoved
        vpn_device_tunnels_disconnected = $tunnels
        vpn_disconnect_failures         = @($failures)
        indeterminate                   = [bool]$reason
        indeterminate_reason            = $reason
    }
}
