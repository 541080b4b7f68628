# .Contains on a string
$sas = @(Get-NetIPsecMainModeSA)
$hit = @($sas | Where-Object { ([string]$_.RemoteFirstId.Identity).Contains("client1") })
