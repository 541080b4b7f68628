# remoteaccess-include: ipsec-look
#
# What get-ipsec-sas/v1 lists, for that script and for purge-devices/v1, which looks again after its purges (CONTRACT.md,
# sections get-ipsec-sas and purge-devices). The script includes sa-identity and connection-addresses before this
# helper. Main-mode SAs whose RemoteFirstId or RemoteSecondId identity is one of the given identities (all SAs when
# none are given), each with the number of quick-mode SAs under it and how it matched; and the VPN connections whose
# user name or host name is one of the identities (a device tunnel authenticates with a machine certificate:
# AuthMethod "Machine Certificate", so it can come back whatever the computer account's state).
# With "device", the device rules of purge-device apply: an SA that shares an IPv6 remote endpoint with one that
# matched by identity is the device's too (matched_by "endpoint": certificate-authenticated DirectAccess), and the
# device's DirectAccess address on SAs that match none of its identities makes the verdict indeterminate. A user's
# SAs are never grouped by endpoint: the device's own tunnels share it.
# Identities are compared exactly and case-insensitively through a HashSet: never a wildcard or substring.
# Fails closed: "indeterminate" is also set when the server lists SAs but none carries a readable identity.
#   Get-NetIPsecMainModeSA   https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     (MSFT_NetMainModeSA: Name, LocalEndpoint, RemoteEndpoint, RemoteFirstId/RemoteSecondId with .Identity and
#      .AuthenticationMethod, CipherAlgorithm, HashAlgorithm)
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA  https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     (quick-mode SAs carry no identity: they are found through their main-mode SA)
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#     (ClientIPAddress can be an array; AuthMethod values are listed by the RemoteAccessConnection WMI class:
#      https://learn.microsoft.com/previous-versions/windows/desktop/ramgmtpsprov/remoteaccessconnection)

# Get-AlgorithmName is the name of an algorithm code in names, the code itself when names does not list it.
function Get-AlgorithmName($value, $names) {
    $text = [string]$value
    $code = 0
    if ([int]::TryParse($text, [ref]$code) -and $names.ContainsKey($code)) { return [string]$names[$code] }
    $text
}

# Get-IPsecLook lists what this server holds now for the look's identities ({identities, device}) and returns the
# result document of get-ipsec-sas/v1.
function Get-IPsecLook($look) {
    # CipherAlgorithm and HashAlgorithm are uint16 codes on the class page: the codes it lists are mapped to its
    # names, others are kept as numbers; a name (another shape) is kept as it is (Get-AlgorithmName).
    $cipherNames = @{ 0 = 'None'; 2 = 'DES'; 6 = '3DES'; 65001 = 'AES-128'; 65002 = 'AES-192'; 65003 = 'AES-256'
        65004 = 'AES-GCM-128'; 65005 = 'AES-GCM-192'; 65006 = 'AES-GCM-256' }
    $hashNames = @{ 0 = 'None'; 2 = 'MD5'; 3 = 'SHA-1'; 65001 = 'SHA-256'; 65002 = 'SHA-384'; 65003 = 'AES-GMAC-128'
        65004 = 'AES-GMAC-192'; 65005 = 'AES-GMAC-256' }
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($look.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    $all = $ids.Count -eq 0
    $device = [bool]$look.device -and -not $all

    $rows = @(Get-RemoteAccessConnectionStatistics)
    $targetAddresses = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    $targetRows = [System.Collections.Generic.List[object]]::new()
    $vpn = @(foreach ($c in $rows) {
        $users = @(foreach ($u in @($c.UserName)) { if ($u) { [string]$u } })
        $byName = @($users | Where-Object { $ids.Contains($_) }).Count -gt 0
        if ($device -and [string]$c.ConnectionType -eq 'DirectAccess' -and $ids.Contains([string]$c.HostName)) {
            $targetRows.Add(@{ host = [string]$c.HostName; addresses = @(Get-RowAddresses $c) })
            foreach ($a in @(Get-RowAddresses $c)) { [void]$targetAddresses.Add($a) }
        }
        if ([string]$c.ConnectionType -ne 'Vpn' -or -not ($all -or $byName -or $ids.Contains([string]$c.HostName))) { continue }
        $started = ''
        if ($c.ConnectionStartTime) {
            $started = ([datetime]$c.ConnectionStartTime).ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", [System.Globalization.CultureInfo]::InvariantCulture)
        }
        @{
            user_names            = $users
            host_name             = [string]$c.HostName
            client_ip_addresses   = @(Get-RowAddresses $c)
            tunnel_type           = [string]$c.TunnelType
            auth_method           = [string]$c.AuthMethod
            connection_start_time = $started
            device_tunnel         = [string]::Equals([string]$c.AuthMethod, 'Machine Certificate', [System.StringComparison]::OrdinalIgnoreCase)
        }
    })

    $sas = @(Get-NetIPsecMainModeSA)
    $matchedBy = @{}
    $readable = 0
    foreach ($mm in $sas) {
        $first = (Get-IdText $mm.RemoteFirstId)
        $second = (Get-IdText $mm.RemoteSecondId)
        if ($first -or $second) { $readable++ }
        if ($all -or $ids.Contains($first) -or $ids.Contains($second)) { $matchedBy[[string]$mm.Name] = 'identity' }
    }
    $endpoints = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($mm in $sas) {
        if ($device -and $matchedBy.ContainsKey([string]$mm.Name) -and (Test-IPv6 ([string]$mm.RemoteEndpoint))) { [void]$endpoints.Add([string]$mm.RemoteEndpoint) }
    }
    $unexplained = 0
    $unexplainedAddress = ''
    $unexplainedEndpoints = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($mm in $sas) {
        if ($matchedBy.ContainsKey([string]$mm.Name)) { continue }
        if ($endpoints.Contains([string]$mm.RemoteEndpoint)) {
            $matchedBy[[string]$mm.Name] = 'endpoint'
        } elseif ($targetAddresses.Contains([string]$mm.RemoteEndpoint)) {
            $unexplained++
            $unexplainedAddress = [string]$mm.RemoteEndpoint
            [void]$unexplainedEndpoints.Add($unexplainedAddress)
        }
    }
    # The devices the address rule concerns, so that a poll for several targets can tell whom it cannot tell about.
    $indeterminateHosts = @(foreach ($t in $targetRows) {
            if (@($t.addresses | Where-Object { $unexplainedEndpoints.Contains($_) }).Count -gt 0) { $t.host }
        })
    $reason = ''
    if (-not $all -and $sas.Count -gt 0 -and $readable -eq 0) {
        $reason = "none of the $($sas.Count) main-mode SAs on this server carries a readable remote identity"
        $indeterminateHosts = @() # the verdict concerns every target
    } elseif ($unexplained -gt 0) {
        $reason = "the DirectAccess address $unexplainedAddress is on $unexplained main-mode SA(s) that match none of the identities"
    }

    $total = 0
    $mainMode = @(foreach ($mm in $sas) {
        if (-not $matchedBy.ContainsKey([string]$mm.Name)) { continue }
        # A main-mode SA whose quick-mode SAs expired has none: only that "not found" is expected.
        $quick = @(Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA $mm -ErrorAction SilentlyContinue -ErrorVariable lookupErrors).Count
        foreach ($e in $lookupErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
        $total += $quick
        @{
            name               = [string]$mm.Name
            local_endpoint     = [string]$mm.LocalEndpoint
            remote_endpoint    = [string]$mm.RemoteEndpoint
            remote_first_id    = (Get-IdText $mm.RemoteFirstId)
            remote_second_id   = (Get-IdText $mm.RemoteSecondId)
            auth_method_first  = (Get-IdMethod $mm.RemoteFirstId)
            auth_method_second = (Get-IdMethod $mm.RemoteSecondId)
            cipher_algorithm   = (Get-AlgorithmName $mm.CipherAlgorithm $cipherNames)
            hash_algorithm     = (Get-AlgorithmName $mm.HashAlgorithm $hashNames)
            matched_by         = $matchedBy[[string]$mm.Name]
            quick_mode_count   = $quick
        }
    })
    @{
        main_mode                = $mainMode
        quick_mode_count         = $total
        vpn_connections          = $vpn
        indeterminate            = [bool]$reason
        indeterminate_reason     = $reason
        indeterminate_host_names = @($indeterminateHosts)
    }
}
