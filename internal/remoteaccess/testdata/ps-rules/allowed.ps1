# What the selecting scripts may do: exact comparisons, and Contains on a collection the script built.
$sas = @(Get-NetIPsecMainModeSA)
$ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
$seen = [System.Collections.Generic.List[string]]::new()
foreach ($sa in $sas) {
    $first = [string]$sa.RemoteFirstId.Identity
    if ($ids.Contains($first) -or $seen.Contains($first)) { $sa }
    if ([string]::Equals($first, 'CORP\CLIENT1$', [System.StringComparison]::OrdinalIgnoreCase)) { $sa }
    if ($first -eq 'CORP\CLIENT1$' -or @('a', 'b') -contains $first) { $sa }
}
