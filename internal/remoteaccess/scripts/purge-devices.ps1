# remoteaccess-script: purge-devices/v1
#
# Cuts several devices off THIS server in one PowerShell run: for each device, what purge-device/v1 does for one.
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section purge-devices. The SAs and the connection statistics
# are listed once for the batch; each device then selects from those lists by its own identities and computer name,
# exactly and case-insensitively through a HashSet (never a wildcard or substring: "*client1*" would also match
# client10), and removes its SAs (quick-mode SAs first) and, with disconnect_vpn, disconnects its VPN connections one
# address at a time.
# Each device runs in a try of its own: a device whose removal fails gets an "error" entry and the next device is
# still purged. A failure of the batch itself (its input, or a listing) comes before any device is touched.
# Fails closed per device as purge-device/v1 does ("indeterminate").
# Input:  {"devices":[{"identities":["CORP\\CLIENT1$","client1.corp.example"],"computer_name":"CLIENT1","disconnect_vpn":true}]}
# Output: {"result":{"devices":[{"main_mode_removed":2,"main_mode_matched_by_endpoint":0,"quick_mode_removed":4,
#          "vpn_device_tunnels_disconnected":0,"vpn_disconnect_failures":[],"indeterminate":false,"indeterminate_reason":""},
#          {"error":{"category":"PermissionDenied","message":"Access is denied.","target":"7"}}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA / Remove-NetIPsecMainModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecmainmodesa
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA / Remove-NetIPsecQuickModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecquickmodesa
#     (quick-mode SAs carry no identity: they are found through their main-mode SA and removed before it)
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#     (ClientIPAddress can be an array: {10.1.1.11, 2002:...}; every address property is flattened to strings)
#   Disconnect-VpnUser -HostIPAddress -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
# An SA or a connection that is gone by the time it is removed (ObjectNotFound; in a batch, also one that another
# device of the batch shared and removed first) is not a failure; any other category is that device's failure.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    # MSFT_NetMainModeSA's class page lists RemoteFirstId and RemoteSecondId as strings; the seed article's commands
    # read objects with .Identity and .AuthenticationMethod. Both shapes are read, here only (CONTRACT.md, section 1).
    function Get-IdText($value) {
        if ($null -eq $value) { return '' }
        if ($value -is [string]) { return $value }
        [string]$value.Identity
    }
    # Every address property of a statistics row as single strings, written one by one (@() collects them).
    function Get-RowAddresses($row) {
        $list = [System.Collections.Generic.List[string]]::new()
        foreach ($value in @($row.ClientIPAddress) + @($row.ClientIPv4Address) + @($row.ClientIPv6Address)) {
            foreach ($a in @($value)) { if ($a -and -not $list.Contains([string]$a)) { $list.Add([string]$a) } }
        }
        $list.ToArray()
    }
    function Test-IPv6([string]$text) {
        $ip = $null
        [System.Net.IPAddress]::TryParse($text, [ref]$ip) -and $ip.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetworkV6
    }
    $devices = @($in.devices)
    if ($devices.Count -eq 0) {
        $ex = [System.ArgumentException]::new('devices must name at least one device')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyDevices', 'InvalidArgument', 'devices')
    }

    $rows = @(Get-RemoteAccessConnectionStatistics)
    $all = @(Get-NetIPsecMainModeSA)
    $readable = 0
    foreach ($mm in $all) { if ((Get-IdText $mm.RemoteFirstId) -or (Get-IdText $mm.RemoteSecondId)) { $readable++ } }

    # One device, as purge-device/v1 does it, on the batch's lists. Throws on a failure other than ObjectNotFound.
    function Invoke-DevicePurge($device) {
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
        foreach ($mm in $all) {
            if ($ids.Contains((Get-IdText $mm.RemoteFirstId)) -or $ids.Contains((Get-IdText $mm.RemoteSecondId))) { $byIdentity += $mm } else { $unmatched += $mm }
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
            # A main-mode SA whose quick-mode SAs expired has none: only that "not found" is expected.
            $quick = @(Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA $mm -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
            foreach ($e in $lookupErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
            foreach ($q in $quick) {
                Remove-NetIPsecQuickModeSA -InputObject $q -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable removeErrors
                if ($removeErrors.Count -eq 0) { $quickRemoved++ }
                foreach ($e in $removeErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
            }
            Remove-NetIPsecMainModeSA -InputObject $mm -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable removeErrors
            if ($removeErrors.Count -eq 0) { $mainRemoved++ }
            foreach ($e in $removeErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
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

    $results = [System.Collections.Generic.List[object]]::new()
    foreach ($device in $devices) {
        try {
            $results.Add((Invoke-DevicePurge $device))
        } catch {
            # This device's failure only: what it removed before it stays removed, and the batch goes on.
            $results.Add(@{ error = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject } })
        }
    }
    @{ result = @{ devices = $results.ToArray() } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
