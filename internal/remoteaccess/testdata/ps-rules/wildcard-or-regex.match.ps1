# a regex comparison
$sas = @(Get-NetIPsecMainModeSA)
$hit = @($sas | Where-Object { [string]$_.RemoteFirstId.Identity -match "client1" })
