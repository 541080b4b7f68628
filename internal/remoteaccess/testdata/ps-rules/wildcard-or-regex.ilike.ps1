# a case-insensitive wildcard comparison
$sas = @(Get-NetIPsecMainModeSA)
$hit = @($sas | Where-Object { [string]$_.RemoteFirstId.Identity -ilike "*client1*" })
