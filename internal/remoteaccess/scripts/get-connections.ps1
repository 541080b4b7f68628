# remoteaccess-script: get-connections/v1
#
# Lists the DirectAccess and VPN connections of THIS server, optionally only those of one user or one host.
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section get-connections.
# Filters are exact, case-insensitive equalities: "client1" never matches "client10". Every address property is
# flattened to single strings (the cmdlet's own example prints ClientIPAddress as an array {10.1.1.11, 2002:...}):
# client_ip_addresses lists them all, client_ip_address is the first.
# Input:  {"user_name":"CORP\\alice"?, "host_name":"client1.corp.example"?}
# Output: {"result":{"connections":[{"user_names":[..],"host_name",...,"client_ip_addresses":[..],...,"server"}]}}
# Microsoft documentation of the cmdlets used:
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#     (UserName, HostName, ClientIPAddress/ClientIPv4Address/ClientIPv6Address, ClientExternalAddress, ConnectionType,
#      TunnelType, TransitionTechnology, AuthMethod, ConnectionDuration, ConnectionStartTime, TotalBytesIn, TotalBytesOut,
#      UserActivityState; availability varies by connection type, so every field is optional here)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $wantUser = [string]$in.user_name
    $wantHost = [string]$in.host_name
    $ignoreCase = [System.StringComparison]::OrdinalIgnoreCase

    $connections = @(foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
        $users = @(foreach ($u in @($c.UserName)) { if ($u) { [string]$u } })
        if ($wantUser -and -not @($users | Where-Object { [string]::Equals($_, $wantUser, $ignoreCase) }).Count) { continue }
        if ($wantHost -and -not [string]::Equals([string]$c.HostName, $wantHost, $ignoreCase)) { continue }

        $addresses = [System.Collections.Generic.List[string]]::new()
        foreach ($value in @($c.ClientIPAddress) + @($c.ClientIPv4Address) + @($c.ClientIPv6Address)) {
            foreach ($a in @($value)) { if ($a -and -not $addresses.Contains([string]$a)) { $addresses.Add([string]$a) } }
        }
        $address = ''
        if ($addresses.Count -gt 0) { $address = $addresses[0] }
        $external = @(foreach ($a in @($c.ClientExternalAddress)) { if ($a) { [string]$a } }) | Select-Object -First 1
        $started = ''
        if ($c.ConnectionStartTime) {
            $started = ([datetime]$c.ConnectionStartTime).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
        }
        @{
            user_names                  = $users
            host_name                   = [string]$c.HostName
            client_ip_address           = $address
            client_ip_addresses         = @($addresses)
            client_external_address     = [string]$external
            connection_type             = [string]$c.ConnectionType
            tunnel_type                 = [string]$c.TunnelType
            transition_technology       = [string]$c.TransitionTechnology
            auth_method                 = [string]$c.AuthMethod
            connection_duration_seconds = [int64]$c.ConnectionDuration
            connection_start_time       = $started
            total_bytes_in              = [int64]$c.TotalBytesIn
            total_bytes_out             = [int64]$c.TotalBytesOut
            user_activity_state         = [string]$c.UserActivityState
            server                      = $env:COMPUTERNAME
        }
    })
    @{ result = @{ connections = $connections } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
