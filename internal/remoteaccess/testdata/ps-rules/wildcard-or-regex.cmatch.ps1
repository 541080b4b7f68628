# a case-sensitive regex comparison
$sas = @(Get-NetIPsecMainModeSA)
$hit = @($sas | Where-Object { [string]$_.RemoteFirstId.Identity -cmatch "client1" })
