# remoteaccess-script: fixture/v1
# an identity read as an object only
$sas = @(Get-NetIPsecMainModeSA)
$first = [string]$sas[0].RemoteFirstId.Identity
