# remoteaccess-script: disconnect-vpn-users/v1
#
# Disconnects, on THIS server, the VPN connections of any of several users, or those holding any of several tunnel
# addresses: exactly one of user_names and host_ip_addresses is given. Contract: internal/remoteaccess/scripts/CONTRACT.md,
# section disconnect-vpn-users. The connections are chosen here, by exact and case-insensitive equality with what
# Get-RemoteAccessConnectionStatistics prints (never a wildcard or a substring: "CORP\bob" never matches
# "CORP\bob2"), and each is then disconnected by its own first tunnel address, in its own call, so that the cmdlet
# never has to interpret a name and one failure does not hide the others. A connection with no address to
# disconnect it by is a failure. Disconnecting nobody is an empty success.
# Input:  {"user_names":["CORP\\bob","corp.example\\bob"]} or {"host_ip_addresses":["10.10.0.5"]}
# Output: {"result":{"disconnected":[{"user_names":["CORP\\bob"],"host_name":"","address":"10.10.0.5"}],
#   "failures":[{"target","category","message"}]}}
# Microsoft documentation of the cmdlets used:
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#     (UserName is an array; ClientIPAddress can be an array: {10.1.1.11, 2002:...}; every address property is
#      flattened to single strings)
#   Disconnect-VpnUser -HostIPAddress -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
#     (-UserName and -HostIPAddress are exclusive; VPN connections only. The documentation does not say how -UserName
#      matches a name, nor which form it wants: an address the server assigned is exact, so the cmdlet only gets those)
# A connection that is gone by the time it is disconnected (ObjectNotFound) is not a failure, nor counted; the
# documentation does not say which category Windows reports then, so any other category is one.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: connection-addresses
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $names = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($n in @($in.user_names)) { if ($n) { [void]$names.Add([string]$n) } }
    $wanted = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($a in @($in.host_ip_addresses)) { if ($a) { [void]$wanted.Add([string]$a) } }
    if (($names.Count -gt 0) -eq ($wanted.Count -gt 0)) {
        $ex = [System.ArgumentException]::new('exactly one of user_names and host_ip_addresses must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'UsersOrAddresses', 'InvalidArgument', 'user_names,host_ip_addresses')
    }

    $disconnected = @()
    $failures = @()
    $done = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        if ([string]$c.ConnectionType -ne 'Vpn') { continue }
        $users = @(foreach ($u in @($c.UserName)) { if ($u) { [string]$u } })
        $tunnel = @(Get-RowAddresses $c)
        if ($names.Count -gt 0) {
            $hit = @($users | Where-Object { $names.Contains($_) }).Count -gt 0
        } else {
            $hit = @($tunnel | Where-Object { $wanted.Contains($_) }).Count -gt 0
        }
        if (-not $hit) { continue }
        if ($tunnel.Count -eq 0) {
            $failures += @{ target = ($users -join ','); category = 'InvalidResult'; message = 'the connection has no tunnel address to disconnect it by' }
            continue
        }
        # One address per connection: its other addresses name the same tunnel, gone once it is disconnected.
        $address = $tunnel[0]
        if (-not $done.Add($address)) { continue }
        try {
            if (@(Disconnect-VpnUser -HostIPAddress $address -PassThru -Confirm:$false).Count -gt 0) {
                $disconnected += @{ user_names = @($users); host_name = [string]$c.HostName; address = $address }
            }
        } catch {
            if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') {
                $failures += @{ target = $address; category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message }
            }
        }
    }
    @{ result = @{ disconnected = @($disconnected); failures = @($failures) } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
