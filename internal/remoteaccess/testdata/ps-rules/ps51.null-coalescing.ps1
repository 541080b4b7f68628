# the ?? operator
$sas = @(Get-NetIPsecMainModeSA)
$first = $sas[0] ?? $null
