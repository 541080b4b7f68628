# remoteaccess-script: purge-sas/v1
#
# Removes IPsec security associations on THIS server: with all, every main-mode SA; otherwise those whose
# RemoteFirstId or RemoteSecondId identity is one of identities, compared exactly and case-insensitively through a
# HashSet (never a wildcard or a substring: "*client1*" would also match client10). Exactly one of the two is given.
# Each main-mode SA goes with its quick-mode SAs, which are removed first. Lists what it removed.
# Input:  {"identities":["CORP\\CLIENT1$"]} or {"all":true}
# Output: {"result":{"removed":[{"name":"7","remote_endpoint":"2001:db8::1","remote_first_id":"CORP\\CLIENT1$",
#          "remote_second_id":"CORP\\alice","quick_mode_removed":2}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA / Remove-NetIPsecMainModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecmainmodesa
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA / Remove-NetIPsecQuickModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecquickmodesa
#     (quick-mode SAs carry no identity: they are found through their main-mode SA and removed before it)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($in.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    $all = [bool]$in.all
    if ($all -eq ($ids.Count -gt 0)) {
        $ex = [System.ArgumentException]::new('exactly one of identities and all must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'IdentitiesOrAll', 'InvalidArgument', 'identities,all')
    }

    $removed = @(foreach ($mm in @(Get-NetIPsecMainModeSA)) {
        $first = [string]$mm.RemoteFirstId.Identity
        $second = [string]$mm.RemoteSecondId.Identity
        if (-not $all -and -not ($ids.Contains($first) -or $ids.Contains($second))) { continue }
        # A main-mode SA whose quick-mode SAs expired has none: only that "not found" is expected.
        $quick = @(Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA $mm -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
        foreach ($e in $lookupErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
        if ($quick.Count -gt 0) {
            Remove-NetIPsecQuickModeSA -InputObject $quick -Confirm:$false
        }
        Remove-NetIPsecMainModeSA -InputObject $mm -Confirm:$false
        @{
            name               = [string]$mm.Name
            remote_endpoint    = [string]$mm.RemoteEndpoint
            remote_first_id    = $first
            remote_second_id   = $second
            quick_mode_removed = $quick.Count
        }
    })
    @{ result = @{ removed = $removed } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
