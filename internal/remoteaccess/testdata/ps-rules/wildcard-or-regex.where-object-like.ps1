# Where-Object with a -Like parameter
$sas = @(Get-NetIPsecMainModeSA)
$hit = @(Get-RemoteAccessConnectionStatistics | Where-Object HostName -Like "client1*")
