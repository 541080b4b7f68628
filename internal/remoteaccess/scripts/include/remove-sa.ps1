# remoteaccess-include: remove-sa
#
# How the scripts remove a main-mode SA:
#   Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA / Remove-NetIPsecQuickModeSA -InputObject
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecquickmodesa
#     https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecquickmodesa
#     (quick-mode SAs carry no identity: they are found through their main-mode SA and removed before it)
#   Remove-NetIPsecMainModeSA -InputObject  https://learn.microsoft.com/powershell/module/netsecurity/remove-netipsecmainmodesa
# An SA that is gone by the time it is removed (ObjectNotFound: it expired, its client left, or another device of a
# batch shared it and removed it first) is neither removed nor a failure; the documentation does not say which
# category Windows reports then, so any other category is one, and throws.

# Remove-MainModeSA removes one main-mode SA, its quick-mode SAs first, and says what it removed:
# @{ main = $true when the main-mode SA was removed; quick = the quick-mode SAs removed }.
function Remove-MainModeSA($mm) {
    # A main-mode SA whose quick-mode SAs expired has none: only that "not found" is expected.
    $quick = @(Get-NetIPsecQuickModeSA -AssociatedNetIPsecMainModeSA $mm -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
    foreach ($e in $lookupErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
    $quickRemoved = 0
    foreach ($q in $quick) {
        Remove-NetIPsecQuickModeSA -InputObject $q -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable removeErrors
        if ($removeErrors.Count -eq 0) { $quickRemoved++ }
        foreach ($e in $removeErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
    }
    Remove-NetIPsecMainModeSA -InputObject $mm -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable removeErrors
    foreach ($e in $removeErrors) { if ($e.CategoryInfo.Category -ne 'ObjectNotFound') { throw $e } }
    @{ main = ($removeErrors.Count -eq 0); quick = $quickRemoved }
}
