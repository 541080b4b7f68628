# a wildcard comparison
$sas = @(Get-NetIPsecMainModeSA)
$hit = @($sas | Where-Object { [string]$_.RemoteFirstId.Identity -like "*client1*" })
