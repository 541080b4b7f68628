# remoteaccess-script: disconnect-vpn/v1
#
# Disconnects VPN connections on THIS server, either every connection of one user or the connection that holds one
# tunnel address. Exactly one of user_name and host_ip_address must be given. Only names or addresses that are
# connected (exact, case-insensitive equality) are passed on, so disconnecting nobody is an empty success.
# Input:  {"user_name":"CORP\\bob"} or {"host_ip_address":"10.10.0.5"}
# Output: {"result":{"disconnected":["CORP\\bob"]}}
# Microsoft documentation of the cmdlets used:
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   Disconnect-VpnUser -UserName | -HostIPAddress, -PassThru  https://learn.microsoft.com/powershell/module/remoteaccess/disconnect-vpnuser
#     (the two parameters are exclusive; -PassThru returns the disconnected names or addresses)
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
    $matched = @(foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        if ([string]$c.ConnectionType -ne 'Vpn') { continue }
        if ($userName) {
            if (@(@($c.UserName) | Where-Object { [string]::Equals([string]$_, $userName, $ignoreCase) }).Count -gt 0) { $c }
        } elseif (@($c.ClientIPAddress, $c.ClientIPv4Address, $c.ClientIPv6Address | Where-Object { [string]::Equals([string]$_, $address, $ignoreCase) }).Count -gt 0) {
            $c
        }
    })
    $disconnected = @()
    if ($matched.Count -gt 0) {
        if ($userName) {
            $disconnected = @(Disconnect-VpnUser -UserName $userName -PassThru -Confirm:$false | ForEach-Object { [string]$_ })
        } else {
            $disconnected = @(Disconnect-VpnUser -HostIPAddress $address -PassThru -Confirm:$false | ForEach-Object { [string]$_ })
        }
    }
    @{ result = @{ disconnected = $disconnected } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
