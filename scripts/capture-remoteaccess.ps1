# capture-remoteaccess.ps1 - records what the provider's scripts read on a real Remote Access server, so that the
# lab and the tests can be checked against real data instead of documentation alone.
#
# Run it in an elevated Windows PowerShell 5.1 on a Remote Access server:
#   powershell.exe -NoProfile -ExecutionPolicy Bypass -File capture-remoteaccess.ps1 -Path capture.json
# It only reads: Get-NetIPsecMainModeSA (with each SA's Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA),
# Get-RemoteAccessConnectionStatistics, Get-NlbCluster, Get-NlbClusterNodeNetworkInterface and Get-NlbClusterNode
# -InterfaceName for every interface NLB is bound to, Get-RemoteAccess, Get-DAServer, the WinRM shell (winrs) and
# service settings (WSMan: drive), the IKEv2 CertAuthFlags registry value, CertValidationLevel of
# Get-NetFirewallSetting -PolicyStore ActiveStore, and the Windows build from the registry. It changes nothing.
# The raw shapes are kept: raw_main_mode_sa is one SA as Get-NetIPsecMainModeSA | ConvertTo-Json -Depth 4 writes it
# (identities as strings or as objects, algorithms as codes or names: whatever this server prints), sanitised like
# everything else (internal/lab/WINDOWS.md, Shapes).
#
# Sanitised before anything is written: every IP address is replaced by a documentation address (192.0.2.0/24,
# 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), and every name-like word (a run of letters and digits that holds
# a letter) in every other text value by a pseudonym such as name7, except in the properties whose values are fixed
# keywords (ConnectionType, AuthMethod, State, ...). The same word or address always gets the same replacement,
# whatever its case, so CORP\CLIENT1$ and client1.corp.example stay recognisably the same computer. Check the file
# before you share it. The lab loads it as a cluster seed: name it as "cluster_seed" in a lab configuration
# (internal/lab/testdata/lab.json shows one) whose directory seed has the capture's (sanitised) domain. Its format
# is "remoteaccess-capture/v1" (internal/lab/cluster/capture.go).
param(
    [Parameter(Mandatory = $true)][string]$Path
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2

# Properties whose values are keywords, kept as they are.
$keywordProperties = [System.Collections.Generic.HashSet[string]]::new([string[]]@(
        'ConnectionType', 'TunnelType', 'TransitionTechnology', 'AuthMethod', 'AuthenticationMethod', 'UserActivityState',
        'HealthStatus', 'AccessStatus', 'CipherAlgorithm', 'HashAlgorithm', 'GroupId', 'KeyModule', 'EncapsulationType',
        'State', 'InitialHostState', 'ProductName', 'DisplayVersion', 'CurrentBuild', 'NlbBound', 'Mode',
        'InstallStatus', 'VpnStatus', 'DAStatus', 'VpnS2SStatus', 'RoutingStatus', 'UseHttpsForInternetConnection',
        'AuthenticationMethod', 'CertValidationLevel', 'ComputerCertAuthentication'), [System.StringComparer]::OrdinalIgnoreCase)
# Words kept inside sanitised text: certificate name attributes and common top-level domains.
$keptWords = [System.Collections.Generic.HashSet[string]]::new([string[]]@(
        'cn', 'ou', 'dc', 'o', 'c', 'l', 's', 'com', 'net', 'org', 'local', 'lan', 'internal', 'example', 'default'),
    [System.StringComparer]::OrdinalIgnoreCase)
$words = [System.Collections.Generic.Dictionary[string, string]]::new([System.StringComparer]::OrdinalIgnoreCase)
$addresses = [System.Collections.Generic.Dictionary[string, string]]::new([System.StringComparer]::OrdinalIgnoreCase)
$warnings = [System.Collections.Generic.List[string]]::new()

function Get-AddressStandIn([System.Net.IPAddress]$ip) {
    if ([System.Net.IPAddress]::IsLoopback($ip) -or $ip.Equals([System.Net.IPAddress]::Any) -or $ip.Equals([System.Net.IPAddress]::IPv6Any)) {
        return $ip.ToString()
    }
    $key = $ip.ToString()
    if (-not $addresses.ContainsKey($key)) {
        $n = $addresses.Count + 1
        if ($ip.AddressFamily -eq [System.Net.Sockets.AddressFamily]::InterNetworkV6) {
            $addresses[$key] = '2001:db8::' + $n.ToString('x')
        } else {
            $blocks = @('192.0.2.', '198.51.100.', '203.0.113.')
            $addresses[$key] = $blocks[[math]::Floor(($n - 1) / 250) % 3] + (($n - 1) % 250 + 1)
        }
    }
    $addresses[$key]
}

function Get-WordStandIn([string]$word) {
    $hasLetter = $false
    foreach ($ch in $word.ToCharArray()) { if ([char]::IsLetter($ch)) { $hasLetter = $true } }
    if (-not $hasLetter -or $keptWords.Contains($word)) { return $word }
    if (-not $words.ContainsKey($word)) { $words[$word] = 'name' + ($words.Count + 1) }
    $standIn = $words[$word]
    if ($word.ToUpperInvariant() -ceq $word) { $standIn = $standIn.ToUpperInvariant() }
    $standIn
}

# Protect-Text replaces an address as a whole, or every name-like word of any other text.
function Protect-Text([string]$text) {
    $ip = $null
    if ([System.Net.IPAddress]::TryParse($text, [ref]$ip)) { return Get-AddressStandIn $ip }
    $out = [System.Text.StringBuilder]::new()
    $word = [System.Text.StringBuilder]::new()
    foreach ($ch in ($text + ' ').ToCharArray()) {
        if ([char]::IsLetterOrDigit($ch)) { [void]$word.Append($ch); continue }
        if ($word.Length -gt 0) { [void]$out.Append((Get-WordStandIn $word.ToString())); [void]$word.Clear() }
        [void]$out.Append($ch)
    }
    $out.ToString(0, $out.Length - 1)
}

# ConvertTo-Plain turns a cmdlet's object into hashtables, arrays and plain values, sanitising every text value.
function ConvertTo-Plain($value, [string]$property, [int]$depth) {
    if ($null -eq $value) { return $null }
    if ($depth -gt 6) { return '(too deep)' }
    if ($value -is [string]) {
        if ($keywordProperties.Contains($property)) { return $value }
        return Protect-Text $value
    }
    if ($value -is [datetime]) { return $value.ToUniversalTime().ToString('o', [System.Globalization.CultureInfo]::InvariantCulture) }
    if ($value -is [enum]) { return $value.ToString() }
    if ($value -is [System.Net.IPAddress]) { return Get-AddressStandIn $value }
    if ($value.GetType().IsPrimitive -or $value -is [decimal] -or $value -is [timespan]) {
        if ($value -is [timespan]) { return $value.TotalSeconds }
        return $value
    }
    if ($value -is [System.Collections.IEnumerable] -and -not ($value -is [System.Collections.IDictionary])) {
        return , @(foreach ($item in $value) { ConvertTo-Plain $item $property ($depth + 1) })
    }
    $plain = [ordered]@{}
    if ($value -is [Microsoft.Management.Infrastructure.CimInstance]) {
        foreach ($p in $value.CimInstanceProperties) { $plain[$p.Name] = ConvertTo-Plain $p.Value $p.Name ($depth + 1) }
    } else {
        foreach ($p in $value.PSObject.Properties) {
            $v = $null
            try { $v = $p.Value } catch { $v = '(unreadable: ' + $_.Exception.GetType().Name + ')' }
            $plain[$p.Name] = ConvertTo-Plain $v $p.Name ($depth + 1)
        }
    }
    $plain
}

$mainMode = @(foreach ($mm in @(Get-NetIPsecMainModeSA)) {
        $quick = @(Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA $mm -ErrorAction SilentlyContinue)
        [ordered]@{
            properties     = ConvertTo-Plain $mm '' 0
            quick_mode_sas = @(foreach ($q in $quick) { ConvertTo-Plain $q '' 0 })
        }
    })
# One SA as ConvertTo-Json writes it, read back so that its shape (strings or objects, numbers or names) is kept,
# then sanitised like every other value.
$rawSA = $null
$firstSA = @(Get-NetIPsecMainModeSA | Select-Object -First 1)
if ($firstSA.Count -gt 0) {
    $rawSA = ConvertTo-Plain ($firstSA[0] | ConvertTo-Json -Depth 4 | ConvertFrom-Json) '' 0
} else {
    $warnings.Add('Get-NetIPsecMainModeSA listed no SA: raw_main_mode_sa is empty')
}
$connections = @(foreach ($c in @(Get-RemoteAccessConnectionStatistics)) { ConvertTo-Plain $c '' 0 })

# ConvertTo-PlainList sanitises every object a command returned.
function ConvertTo-PlainList($items) {
    , @(foreach ($item in @($items)) { ConvertTo-Plain $item '' 0 })
}

$nodes = @()
$clusters = @()
$interfaces = @()
if (Get-Command -Name Get-NlbClusterNodeNetworkInterface -ErrorAction SilentlyContinue) {
    # Get-NlbCluster without arguments is "the local NLB cluster", one; a DirectAccess cluster with two network
    # adapters has two, so the nodes are read per interface NLB is bound to.
    try { $clusters = ConvertTo-PlainList (Get-NlbCluster) } catch { $warnings.Add('Get-NlbCluster: ' + $_.Exception.Message) }
    $bound = @()
    try { $bound = @(Get-NlbClusterNodeNetworkInterface) } catch { $warnings.Add('Get-NlbClusterNodeNetworkInterface: ' + $_.Exception.Message) }
    $interfaces = ConvertTo-PlainList $bound
    foreach ($nic in $bound) {
        if (-not $nic.NlbBound) { continue }
        try {
            $nodes += ConvertTo-PlainList (Get-NlbClusterNode -InterfaceName ([string]$nic.InterfaceName))
        } catch {
            $warnings.Add('Get-NlbClusterNode -InterfaceName: ' + $_.Exception.Message)
        }
    }
} else {
    $warnings.Add('the NLB cmdlets are not installed (no NLB on this server)')
}
$remoteAccess = @()
try { $remoteAccess = ConvertTo-PlainList (Get-RemoteAccess) } catch { $warnings.Add('Get-RemoteAccess: ' + $_.Exception.Message) }
$daServer = @()
try { $daServer = ConvertTo-PlainList (Get-DAServer) } catch { $warnings.Add('Get-DAServer: ' + $_.Exception.Message) }

# WinRM settings that decide whether the provider can work (internal/lab/WINDOWS.md, WinRM): plain values, no names.
function Get-WSManValues([string]$path) {
    $values = [ordered]@{}
    try {
        foreach ($item in @(Get-ChildItem -Path $path)) {
            if ($item.PSObject.Properties['Value'] -and -not ($item.Value -is [System.Collections.IEnumerable] -and -not ($item.Value -is [string]))) {
                $values[[string]$item.Name] = [string]$item.Value
            }
        }
    } catch {
        $warnings.Add($path + ': ' + $_.Exception.Message)
    }
    $values
}
$winrm = [ordered]@{
    shell        = Get-WSManValues 'WSMan:\localhost\Shell'
    service      = Get-WSManValues 'WSMan:\localhost\Service'
    service_auth = Get-WSManValues 'WSMan:\localhost\Service\Auth'
}
$certAuthFlags = $null
try {
    $ikev2 = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2' -ErrorAction Stop
    if ($ikev2.PSObject.Properties['CertAuthFlags']) { $certAuthFlags = [int]$ikev2.CertAuthFlags }
} catch {
    $warnings.Add('CertAuthFlags: ' + $_.Exception.Message)
}
$certValidationLevel = ''
try {
    $certValidationLevel = [string](Get-NetFirewallSetting -PolicyStore ActiveStore).CertValidationLevel
} catch {
    $warnings.Add('Get-NetFirewallSetting -PolicyStore ActiveStore: ' + $_.Exception.Message)
}
$version = Get-ItemProperty -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$windows = [ordered]@{}
foreach ($name in @('ProductName', 'CurrentBuild', 'UBR', 'DisplayVersion', 'EditionID')) {
    if ($version.PSObject.Properties[$name]) { $windows[$name] = $version.$name }
}
$windows['PSVersion'] = $PSVersionTable.PSVersion.ToString()

$capture = [ordered]@{
    format        = 'remoteaccess-capture/v1'
    source        = 'scripts/capture-remoteaccess.ps1, sanitised'
    captured_at   = [datetime]::UtcNow.ToString('o', [System.Globalization.CultureInfo]::InvariantCulture)
    computer_name = Protect-Text $env:COMPUTERNAME
    domain        = [ordered]@{ dns_name = Protect-Text ([string]$env:USERDNSDOMAIN).ToLowerInvariant(); netbios_name = Protect-Text ([string]$env:USERDOMAIN) }
    windows       = $windows
    main_mode_sas = $mainMode
    raw_main_mode_sa = $rawSA
    connections   = $connections
    nlb_clusters  = $clusters
    nlb_interfaces = $interfaces
    nlb_nodes     = $nodes
    remote_access = $remoteAccess
    directaccess_server = $daServer
    winrm         = $winrm
    ikev2_cert_auth_flags = $certAuthFlags
    ipsec_cert_validation_level = $certValidationLevel
    warnings      = @($warnings)
}
$json = ConvertTo-Json -InputObject $capture -Depth 12
[System.IO.File]::WriteAllText($Path, $json, [System.Text.UTF8Encoding]::new($false))
Write-Output ("wrote {0}: {1} main-mode SAs, {2} connections, {3} NLB node objects on {4} interfaces, {5} names and {6} addresses replaced" -f
    $Path, $mainMode.Count, $connections.Count, $nodes.Count, $interfaces.Count, $words.Count, $addresses.Count)
