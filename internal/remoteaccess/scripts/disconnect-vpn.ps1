# remoteaccess-script: disconnect-vpn/v1
#
# Disconnects VPN connections on THIS server, either every connection of one user or the connection that holds one
# tunnel address. Contract: internal/remoteaccess/scripts/CONTRACT.md, section disconnect-vpn.
# Exactly one of user_name and host_ip_address must be given. The connections are chosen here by exact,
# case-insensitive equality with what the statistics print (every address property flattened: ClientIPAddress can
# be an array), and each is disconnected by its own first tunnel address, in its own call: Disconnect-VpnUser
# -UserName documents only DOMAIN\USERNAME, while the statistics may print a user as dns.domain\user, and a name
# Windows does not take would be a silent miss. One failure does not hide the others: failures are listed per
# address, and disconnecting nobody is an empty success.
# Input:  {"user_name":"CORP\\bob"} or {"host_ip_address":"10.10.0.5"}
# Output: {"result":{"disconnected":["CORP\\bob"],"failures":[{"target","category","message"}]}}
#   (disconnected lists the user name as the statistics print it, or the address, once per name or address)
# Microsoft documentation of the cmdlets used:
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   Disconnect-VpnUser -HostIPAddress -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
#     (-UserName and -HostIPAddress are exclusive; -HostIPAddress is the address the server assigned)
# A connection that is gone by the time it is disconnected (ObjectNotFound) is not a failure; the documentation does
# not say which category Windows reports then, so any other category is one.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $userName = [string]$in.user_name
    $address = [string]$in.host_ip_address
    if ([bool]$userName -eq [bool]$address) {
        $ex = [System.ArgumentException]::new('exactly one of user_name and host_ip_address must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'UserOrAddress', 'InvalidArgument', 'user_name,host_ip_address')
    }

    $ignoreCase = [System.StringComparison]::OrdinalIgnoreCase
    $disconnected = [System.Collections.Generic.List[string]]::new()
    $failures = @()
    $done = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        if ([string]$c.ConnectionType -ne 'Vpn') { continue }
        $tunnel = [System.Collections.Generic.List[string]]::new()
        foreach ($value in @($c.ClientIPAddress) + @($c.ClientIPv4Address) + @($c.ClientIPv6Address)) {
            foreach ($a in @($value)) { if ($a -and -not $tunnel.Contains([string]$a)) { $tunnel.Add([string]$a) } }
        }
        $label = ''
        if ($userName) {
            foreach ($n in @($c.UserName)) { if ([string]::Equals([string]$n, $userName, $ignoreCase)) { $label = [string]$n } }
        } else {
            foreach ($a in $tunnel) { if ([string]::Equals($a, $address, $ignoreCase)) { $label = $a } }
        }
        if (-not $label) { continue }
        if ($tunnel.Count -eq 0) {
            $failures += @{ target = $label; category = 'InvalidResult'; message = 'the connection has no tunnel address to disconnect it by' }
            continue
        }
        # One address per connection: its other addresses name the same tunnel, gone once it is disconnected.
        $first = $tunnel[0]
        if (-not $done.Add($first)) { continue }
        try {
            if (@(Disconnect-VpnUser -HostIPAddress $first -PassThru -Confirm:$false).Count -gt 0 -and -not $disconnected.Contains($label)) {
                $disconnected.Add($label)
            }
        } catch {
            if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') {
                $failures += @{ target = $first; category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message }
            }
        }
    }
    @{ result = @{ disconnected = @($disconnected); failures = @($failures) } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
