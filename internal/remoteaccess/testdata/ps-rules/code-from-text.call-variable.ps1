# & on a string variable
$sas = @(Get-NetIPsecMainModeSA)
$in = ConvertFrom-Json -InputObject $InputJson
$cmd = [string]$in.command
& $cmd
