# remoteaccess-script: purge-user/v1
#
# Cuts a user off THIS server. Contract: internal/remoteaccess/scripts/CONTRACT.md, section purge-user.
# Removes the DirectAccess intranet-tunnel SAs whose RemoteSecondId (the user's Kerberos identity) is one of the
# user's identities, quick-mode SAs first, and disconnects the user's VPN connections, each by its own tunnel address
# so that one failure does not hide the others. VPN statistics print a user as NETBIOS\user or as dns.domain\user
# (the cmdlet's own example shows corp.contoso.com\remoteuser1): the caller sends both forms among the identities,
# and the connections are disconnected by address because Disconnect-VpnUser -UserName documents only DOMAIN\USERNAME.
# Identities are compared exactly and case-insensitively through a HashSet: never a wildcard or substring.
# Fails closed: "indeterminate" is set when the server lists SAs but none carries a readable identity.
# Input:  {"identities":["CORP\\alice","corp.example\\alice","alice@corp.example"],"user_name":"CORP\\alice"}
# Output: {"result":{"main_mode_removed":1,"quick_mode_removed":2,"vpn_connections_disconnected":1,
#          "vpn_disconnect_failures":[],"indeterminate":false,"indeterminate_reason":""}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA / Remove-NetIPsecMainModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecmainmodesa
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA / Remove-NetIPsecQuickModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecquickmodesa
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   Disconnect-VpnUser -HostIPAddress -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
#     (-HostIPAddress is the tunnel address the server assigned: exact, whatever form the user name is printed in)
# An SA or a connection that is gone by the time it is removed (ObjectNotFound) is not a failure; the documentation
# does not say which category Windows reports then, so any other category is one.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: sa-identity
# remoteaccess-include: connection-addresses
# remoteaccess-include: remove-sa
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($in.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    if ($in.user_name) { [void]$ids.Add([string]$in.user_name) }
    if ($ids.Count -eq 0) {
        $ex = [System.ArgumentException]::new('identities or user_name must name the user')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyIdentities', 'InvalidArgument', 'identities')
    }

    $all = @(Get-NetIPsecMainModeSA)
    $readable = @($all | Where-Object { (Get-IdText $_.RemoteFirstId) -or (Get-IdText $_.RemoteSecondId) }).Count
    $reason = ''
    if ($all.Count -gt 0 -and $readable -eq 0) {
        $reason = "none of the $($all.Count) main-mode SAs on this server carries a readable remote identity"
    }

    $mainRemoved = 0
    $quickRemoved = 0
    foreach ($mm in $all) {
        if (-not $ids.Contains((Get-IdText $mm.RemoteSecondId))) { continue }
        $removed = Remove-MainModeSA $mm
        if ($removed.main) { $mainRemoved++ }
        $quickRemoved += $removed.quick
    }

    # Each connection of the user is disconnected by its own first tunnel address: Disconnect-VpnUser -UserName
    # documents only DOMAIN\USERNAME, and the statistics may print the user as dns.domain\user.
    $vpnConnections = 0
    $failures = @()
    $done = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        if ([string]$c.ConnectionType -ne 'Vpn') { continue }
        $users = @(foreach ($u in @($c.UserName)) { if ($u) { [string]$u } })
        if (@($users | Where-Object { $ids.Contains($_) }).Count -eq 0) { continue }
        $tunnel = @(Get-RowAddresses $c)
        if ($tunnel.Count -eq 0) {
            $failures += @{ target = ($users -join ','); category = 'InvalidResult'; message = 'the connection has no tunnel address to disconnect it by' }
            continue
        }
        if (-not $done.Add($tunnel[0])) { continue }
        try {
            if (@(Disconnect-VpnUser -HostIPAddress $tunnel[0] -PassThru -Confirm:$false).Count -gt 0) { $vpnConnections++ }
        } catch {
            if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') {
                $failures += @{ target = $tunnel[0]; category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message }
            }
        }
    }
    $result = @{
        main_mode_removed            = $mainRemoved
        quick_mode_removed           = $quickRemoved
        vpn_connections_disconnected = $vpnConnections
        vpn_disconnect_failures      = @($failures)
        indeterminate                = [bool]$reason
        indeterminate_reason         = $reason
    }
    @{ result = $result } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
