# the iex alias
$sas = @(Get-NetIPsecMainModeSA)
$in = ConvertFrom-Json -InputObject $InputJson
iex $in.command
