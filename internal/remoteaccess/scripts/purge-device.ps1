# remoteaccess-script: purge-device/v1
#
# Cuts a device off THIS server. Contract: internal/remoteaccess/scripts/CONTRACT.md, section purge-device.
# Main-mode SAs whose RemoteFirstId or RemoteSecondId identity is one of the device's identities are removed, their
# quick-mode SAs first; so are the SAs that share an IPv6 remote endpoint with one of them (certificate-authenticated
# DirectAccess: the intranet tunnel may carry a certificate subject, not an account name). With disconnect_vpn, the
# VPN connections whose user name is one of the identities or whose host name is computer_name are disconnected one
# address at a time, so one failure does not hide the others.
# Identities are compared exactly and case-insensitively through a HashSet: never a wildcard or substring
# ("*client1*" would also match client10).
# Fails closed: "indeterminate" is set when the server lists SAs but none carries a readable identity, or when an
# address of the device's DirectAccess connection is on SAs that matched by no identity.
# Input:  {"identities":["CORP\\CLIENT1$","client1.corp.example"],"computer_name":"CLIENT1","disconnect_vpn":true}
# Output: {"result":{"main_mode_removed":2,"main_mode_matched_by_endpoint":0,"quick_mode_removed":4,
#          "vpn_device_tunnels_disconnected":0,"vpn_disconnect_failures":[],"indeterminate":false,"indeterminate_reason":""}}
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
# An SA or a connection that is gone by the time it is removed (ObjectNotFound) is not a failure; the documentation
# does not say which category Windows reports then, so any other category is one.
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
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($in.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    $computerName = [string]$in.computer_name
    if ($ids.Count -eq 0) {
        $ex = [System.ArgumentException]::new('identities must name at least one identity')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyIdentities', 'InvalidArgument', 'identities')
    }
    # Host names are the identities and the computer name (statistics may print either).
    $hostNames = [System.Collections.Generic.HashSet[string]]::new($ids, [System.StringComparer]::OrdinalIgnoreCase)
    if ($computerName) { [void]$hostNames.Add($computerName) }
    $ignoreCase = [System.StringComparison]::OrdinalIgnoreCase

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

    $rows = @(Get-RemoteAccessConnectionStatistics)
    $deviceAddresses = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($c in $rows) {
        if ([string]$c.ConnectionType -eq 'DirectAccess' -and $hostNames.Contains([string]$c.HostName)) {
            foreach ($a in @(Get-RowAddresses $c)) { [void]$deviceAddresses.Add($a) }
        }
    }

    $all = @(Get-NetIPsecMainModeSA)
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
    if ($in.disconnect_vpn) {
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
    $result = @{
        main_mode_removed               = $mainRemoved
        main_mode_matched_by_endpoint   = $byEndpoint.Count
        quick_mode_removed              = $quickRemoved
        vpn_device_tunnels_disconnected = $tunnels
        vpn_disconnect_failures         = @($failures)
        indeterminate                   = [bool]$reason
        indeterminate_reason            = $reason
    }
    @{ result = $result } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
