# remoteaccess-script: purge-user/v1
#
# Cuts a user off THIS server: removes the DirectAccess intranet-tunnel SAs whose RemoteSecondId (the user's
# Kerberos identity) is one of the user's identities, quick-mode SAs first, and disconnects the user's VPN connections.
# Identities are compared exactly and case-insensitively through a HashSet: never a wildcard or substring.
# Input:  {"identities":["CORP\\alice","alice@corp.example"],"user_name":"CORP\\alice"}
# Output: {"result":{"main_mode_removed":1,"quick_mode_removed":2,"vpn_connections_disconnected":1}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA / Remove-NetIPsecMainModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecmainmodesa
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA / Remove-NetIPsecQuickModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecquickmodesa
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   Disconnect-VpnUser -UserName  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
#     (UserName accepts DOMAIN\USER; it is called only with names that are connected, as reported by the statistics)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($in.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    if ($in.user_name) { [void]$ids.Add([string]$in.user_name) }
    if ($ids.Count -eq 0) {
        $ex = [System.ArgumentException]::new('identities or user_name must name the user')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyIdentities', 'InvalidArgument', 'identities')
    }

    $mainRemoved = 0
    $quickRemoved = 0
    foreach ($mm in @(Get-NetIPsecMainModeSA)) {
        if (-not $ids.Contains([string]$mm.RemoteSecondId.Identity)) { continue }
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

    $connected = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    $vpnConnections = 0
    foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        if ([string]$c.ConnectionType -ne 'Vpn') { continue }
        $names = @(@($c.UserName) | Where-Object { $_ -and $ids.Contains([string]$_) })
        if ($names.Count -eq 0) { continue }
        $vpnConnections++
        foreach ($n in $names) { [void]$connected.Add([string]$n) }
    }
    if ($connected.Count -gt 0) {
        $null = Disconnect-VpnUser -UserName @($connected) -Confirm:$false
    }
    $result = @{ main_mode_removed = $mainRemoved; quick_mode_removed = $quickRemoved; vpn_connections_disconnected = $vpnConnections }
    @{ result = $result } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
