# remoteaccess-script: purge-sas/v1
#
# Removes IPsec security associations on THIS server: with all, every main-mode SA; otherwise those whose
# RemoteFirstId or RemoteSecondId identity is one of identities, compared exactly and case-insensitively through a
# HashSet (never a wildcard or a substring: "*client1*" would also match client10). Exactly one of the two is given.
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section purge-sas. Each main-mode SA goes with its quick-mode
# SAs, which are removed first. Lists what it removed. By identity, a server that lists SAs none of which carries a
# readable identity cannot tell whether the identities have SAs there: it says so (indeterminate).
# Input:  {"identities":["CORP\\CLIENT1$"]} or {"all":true}
# Output: {"result":{"removed":[{"name":"7","remote_endpoint":"2001:db8::1","remote_first_id":"CORP\\CLIENT1$",
#   "remote_second_id":"CORP\\alice","quick_mode_removed":2}],"indeterminate":false,"indeterminate_reason":""}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA / Remove-NetIPsecMainModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecmainmodesa
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA / Remove-NetIPsecQuickModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecquickmodesa
#     (quick-mode SAs carry no identity: they are found through their main-mode SA and removed before it)
# An SA that is gone by the time it is removed (ObjectNotFound: it expired, or its client left) is neither removed
# nor a failure; the documentation does not say which category Windows reports then, so any other category is one.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: sa-identity
# remoteaccess-include: remove-sa
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($id in @($in.identities)) { if ($id) { [void]$ids.Add([string]$id) } }
    $all = [bool]$in.all
    if ($all -eq ($ids.Count -gt 0)) {
        $ex = [System.ArgumentException]::new('exactly one of identities and all must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'IdentitiesOrAll', 'InvalidArgument', 'identities,all')
    }

    $listed = @(Get-NetIPsecMainModeSA)
    $readable = 0
    $chosen = @(foreach ($mm in $listed) {
        $first = (Get-IdText $mm.RemoteFirstId)
        $second = (Get-IdText $mm.RemoteSecondId)
        if ($first -or $second) { $readable++ }
        if ($all -or $ids.Contains($first) -or $ids.Contains($second)) { $mm }
    })
    $reason = ''
    if (-not $all -and $listed.Count -gt 0 -and $readable -eq 0) {
        $reason = "none of the $($listed.Count) main-mode SAs on this server carries a readable remote identity"
    }

    $removed = @()
    foreach ($mm in $chosen) {
        $gone = Remove-MainModeSA $mm
        if (-not $gone.main) { continue }
        $removed += @{
            name               = [string]$mm.Name
            remote_endpoint    = [string]$mm.RemoteEndpoint
            remote_first_id    = (Get-IdText $mm.RemoteFirstId)
            remote_second_id   = (Get-IdText $mm.RemoteSecondId)
            quick_mode_removed = $gone.quick
        }
    }
    $result = @{ removed = @($removed); indeterminate = [bool]$reason; indeterminate_reason = $reason }
    @{ result = $result } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
