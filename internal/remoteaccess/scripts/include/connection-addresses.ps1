# remoteaccess-include: connection-addresses
#
# How the scripts read the addresses of a Get-RemoteAccessConnectionStatistics row: ClientIPAddress can be an array
# ({10.1.1.11, 2002:...}), so every address property is flattened to single strings.

# Get-RowAddresses lists every address property of a statistics row as single strings, each once, in order.
function Get-RowAddresses($row) {
    $list = [System.Collections.Generic.List[string]]::new()
    foreach ($value in @($row.ClientIPAddress) + @($row.ClientIPv4Address) + @($row.ClientIPv6Address)) {
        foreach ($a in @($value)) { if ($a -and -not $list.Contains([string]$a)) { $list.Add([string]$a) } }
    }
    $list.ToArray()
}

# Test-IPv6 says whether text is an IPv6 address.
function Test-IPv6([string]$text) {
    $ip = $null
    [System.Net.IPAddress]::TryParse($text, [ref]$ip) -and $ip.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetworkV6
}
