# the [regex] type
$sas = @(Get-NetIPsecMainModeSA)
$hit = @($sas | Where-Object { [regex]::IsMatch([string]$_.RemoteFirstId.Identity, "client1") })
