# remoteaccess-script: get-ipsec-sas/v1
#
# Lists the IPsec main-mode SAs of THIS server whose RemoteFirstId or RemoteSecondId identity is one of the given
# identities (all SAs when none are given), each with the number of quick-mode SAs that hang off it.
# Identities are compared exactly and case-insensitively through a HashSet: never a wildcard or substring.
# Input:  {"identities":["CORP\\CLIENT1$","client1.corp.example"]?}
# Output: {"result":{"main_mode":[{"name",...,"quick_mode_count":2}],"quick_mode_count":2}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA   https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     (MSFT_NetMainModeSA: Name, LocalEndpoint, RemoteEndpoint, RemoteFirstId/RemoteSecondId with .Identity and
#      .AuthenticationMethod, CipherAlgorithm, HashAlgorithm)
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA  https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     (quick-mode SAs carry no identity: they are found through their main-mode SA)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($in.identities)) { if ($id) { [void]$ids.Add([string]$id) } }

    $total = 0
    $mainMode = @(foreach ($mm in @(Get-NetIPsecMainModeSA)) {
        $first = [string]$mm.RemoteFirstId.Identity
        $second = [string]$mm.RemoteSecondId.Identity
        if ($ids.Count -gt 0 -and -not ($ids.Contains($first) -or $ids.Contains($second))) { continue }
        # A main-mode SA whose quick-mode SAs expired has none: only that "not found" is expected.
        $quick = @(Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA $mm -ErrorAction SilentlyContinue -ErrorVariable lookupErrors).Count
        foreach ($e in $lookupErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
        $total += $quick
        @{
            name               = [string]$mm.Name
            local_endpoint     = [string]$mm.LocalEndpoint
            remote_endpoint    = [string]$mm.RemoteEndpoint
            remote_first_id    = $first
            remote_second_id   = $second
            auth_method_first  = [string]$mm.RemoteFirstId.AuthenticationMethod
            auth_method_second = [string]$mm.RemoteSecondId.AuthenticationMethod
            cipher_algorithm   = [string]$mm.CipherAlgorithm
            hash_algorithm     = [string]$mm.HashAlgorithm
            quick_mode_count   = $quick
        }
    })
    @{ result = @{ main_mode = $mainMode; quick_mode_count = $total } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
