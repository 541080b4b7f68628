# remoteaccess-script: purge-device/v1
#
# Cuts a device off THIS server: for each IPsec main-mode SA whose RemoteFirstId or RemoteSecondId identity is one of
# the device's identities, removes its quick-mode SAs and then the main-mode SA itself; with disconnect_vpn, also
# disconnects the VPN device tunnels whose user name is one of the identities or whose host name is computer_name.
# Identities are compared exactly and case-insensitively through a HashSet: never a wildcard or substring
# ("*client1*" would also match client10).
# Input:  {"identities":["CORP\\CLIENT1$","client1.corp.example"],"computer_name":"CLIENT1","disconnect_vpn":true}
# Output: {"result":{"main_mode_removed":2,"quick_mode_removed":4,"vpn_device_tunnels_disconnected":0}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA / Remove-NetIPsecMainModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecmainmodesa
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA / Remove-NetIPsecQuickModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecquickmodesa
#     (quick-mode SAs carry no identity: they are found through their main-mode SA and removed before it)
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   Disconnect-VpnUser -HostIPAddress -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($in.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    $computerName = [string]$in.computer_name
    if ($ids.Count -eq 0) {
        $ex = [System.ArgumentException]::new('identities must name at least one identity')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyIdentities', 'InvalidArgument', 'identities')
    }

    $mainRemoved = 0
    $quickRemoved = 0
    foreach ($mm in @(Get-NetIPsecMainModeSA)) {
        if (-not ($ids.Contains([string]$mm.RemoteFirstId.Identity) -or $ids.Contains([string]$mm.RemoteSecondId.Identity))) { continue }
        # A main-mode SA whose quick-mode SAs expired has none: only that "not found" is expected.
        $quick = @(Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA $mm -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
        foreach ($e in $lookupErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
        if ($quick.Count -gt 0) {
            Remove-NetIPsecQuickModeSA -InputObject $quick -Confirm:$false
            $quickRemoved += $quick.Count
        }
        Remove-NetIPsecMainModeSA -InputObject $mm -Confirm:$false
        $mainRemoved++
    }

    $tunnels = 0
    if ($in.disconnect_vpn) {
        $addresses = @(foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
            if ([string]$c.ConnectionType -ne 'Vpn') { continue }
            $byName = @(@($c.UserName) | Where-Object { $_ -and $ids.Contains([string]$_) }).Count -gt 0
            $byHost = $computerName -and [string]::Equals([string]$c.HostName, $computerName, [System.StringComparison]::OrdinalIgnoreCase)
            if ($byName -or $byHost) {
                [string](@($c.ClientIPAddress, $c.ClientIPv4Address, $c.ClientIPv6Address) | Where-Object { $_ } | Select-Object -First 1)
            }
        })
        if ($addresses.Count -gt 0) {
            $tunnels = @(Disconnect-VpnUser -HostIPAddress $addresses -PassThru -Confirm:$false).Count
        }
    }
    $result = @{ main_mode_removed = $mainRemoved; quick_mode_removed = $quickRemoved; vpn_device_tunnels_disconnected = $tunnels }
    @{ result = $result } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
