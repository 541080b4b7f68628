# remoteaccess-script: disconnect-vpn/v1
#
# Disconnects VPN connections on THIS server, either every connection of one user or the connections that hold one
# tunnel address. Contract: internal/remoteaccess/scripts/CONTRACT.md, section disconnect-vpn.
# Exactly one of user_name and host_ip_address must be given. Only names or addresses that are connected (exact,
# case-insensitive equality with every address property, flattened: ClientIPAddress can be an array) are passed on,
# each in its own call, so that one failure does not hide the others: failures are listed per name or address, and
# disconnecting nobody is an empty success.
# Input:  {"user_name":"CORP\\bob"} or {"host_ip_address":"10.10.0.5"}
# Output: {"result":{"disconnected":["CORP\\bob"],"failures":[{"target","category","message"}]}}
# Microsoft documentation of the cmdlets used:
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   Disconnect-VpnUser -UserName | -HostIPAddress, -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
#     (the two parameters are exclusive; -PassThru returns the disconnected names or addresses)
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
    $targets = [System.Collections.Generic.List[string]]::new()
    foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        if ([string]$c.ConnectionType -ne 'Vpn') { continue }
        if ($userName) {
            foreach ($n in @($c.UserName)) {
                if ([string]::Equals([string]$n, $userName, $ignoreCase) -and -not $targets.Contains([string]$n)) { $targets.Add([string]$n) }
            }
            continue
        }
        foreach ($value in @($c.ClientIPAddress) + @($c.ClientIPv4Address) + @($c.ClientIPv6Address)) {
            foreach ($a in @($value)) {
                if ([string]::Equals([string]$a, $address, $ignoreCase) -and -not $targets.Contains([string]$a)) { $targets.Add([string]$a) }
            }
        }
    }
    $disconnected = @()
    $failures = @()
    foreach ($t in $targets) {
        try {
            if ($userName) {
                $disconnected += @(Disconnect-VpnUser -UserName $t -PassThru -Confirm:$false | ForEach-Object { [string]$_ })
            } else {
                $disconnected += @(Disconnect-VpnUser -HostIPAddress $t -PassThru -Confirm:$false | ForEach-Object { [string]$_ })
            }
        } catch {
            if ([string]$_.CategoryInfo.Category -ne 'ObjectNotFound') {
                $failures += @{ target = $t; category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message }
            }
        }
    }
    @{ result = @{ disconnected = @($disconnected); failures = @($failures) } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
