# the ternary operator
$sas = @(Get-NetIPsecMainModeSA)
$n = $sas.Count -gt 0 ? $sas.Count : 0
