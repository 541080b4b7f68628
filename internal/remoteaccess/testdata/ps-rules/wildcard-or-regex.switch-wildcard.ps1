# switch -Wildcard
$sas = @(Get-NetIPsecMainModeSA)
foreach ($sa in $sas) { switch -Wildcard ([string]$sa.RemoteFirstId.Identity) { "*client1*" { $sa } } }
