# a negated wildcard comparison
$sas = @(Get-NetIPsecMainModeSA)
$hit = @($sas | Where-Object { [string]$_.RemoteFirstId.Identity -notlike "*client1*" })
