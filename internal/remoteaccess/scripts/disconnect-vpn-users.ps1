# remoteaccess-script: disconnect-vpn-users/v1
#
# Disconnects, on THIS server, the VPN connections of any of several users, or those holding any of several tunnel
# addresses: exactly one of user_names and host_ip_addresses is given. The connections are chosen here, by exact and
# case-insensitive equality with what Get-RemoteAccessConnectionStatistics prints (never a wildcard or a substring:
# "CORP\bob" never matches "CORP\bob2"), and each is then disconnected by its own tunnel address, so that the cmdlet
# never has to interpret a name. Every choice is made before anything is disconnected; a connection that ended in
# between is no error. Disconnecting nobody is an empty success.
# Input:  {"user_names":["CORP\\bob","corp.example\\bob"]} or {"host_ip_addresses":["10.10.0.5"]}
# Output: {"result":{"disconnected":[{"user_names":["CORP\\bob"],"host_name":"","address":"10.10.0.5"}]}}
# Microsoft documentation of the cmdlets used:
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#     (UserName is an array; ClientIPAddress may be an array of addresses; ClientIPv4Address and ClientIPv6Address
#      are the tunnel addresses the server assigned: every one of them is flattened into single strings here)
#   Disconnect-VpnUser -HostIPAddress -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
#     (-UserName and -HostIPAddress are exclusive; VPN connections only. The documentation does not say how -UserName
#      matches a name, nor which form it wants: an address the server assigned is exact, so the cmdlet only gets those)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $names = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($n in @($in.user_names)) { if ($n) { [void]$names.Add([string]$n) } }
    $addresses = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($a in @($in.host_ip_addresses)) { if ($a) { [void]$addresses.Add([string]$a) } }
    if (($names.Count -gt 0) -eq ($addresses.Count -gt 0)) {
        $ex = [System.ArgumentException]::new('exactly one of user_names and host_ip_addresses must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'UsersOrAddresses', 'InvalidArgument', 'user_names,host_ip_addresses')
    }

    $chosen = @(foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        if ([string]$c.ConnectionType -ne 'Vpn') { continue }
        $users = @(foreach ($u in @($c.UserName)) { if ($u) { [string]$u } })
        $tunnel = @(foreach ($a in (@($c.ClientIPAddress) + @($c.ClientIPv4Address) + @($c.ClientIPv6Address))) { if ($a) { [string]$a } })
        if ($names.Count -gt 0) {
            $hit = @($users | Where-Object { $names.Contains($_) }).Count -gt 0
        } else {
            $hit = @($tunnel | Where-Object { $addresses.Contains($_) }).Count -gt 0
        }
        if (-not $hit) { continue }
        if ($tunnel.Count -eq 0) {
            $ex = [System.InvalidOperationException]::new('a matching VPN connection has no tunnel address to disconnect it by; nothing was disconnected')
            throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoTunnelAddress', 'InvalidResult', ($users -join ','))
        }
        @{ user_names = $users; host_name = [string]$c.HostName; address = $tunnel[0] }
    })

    $disconnected = @(foreach ($c in $chosen) {
        # A connection that ended since the statistics were read is not found: only that is expected.
        $gone = @(Disconnect-VpnUser -HostIPAddress $c.address -PassThru -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable disconnectErrors)
        foreach ($e in $disconnectErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
        if ($gone.Count -gt 0) { $c }
    })
    @{ result = @{ disconnected = $disconnected } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
