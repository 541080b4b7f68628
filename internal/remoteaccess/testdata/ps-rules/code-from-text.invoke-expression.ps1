# Invoke-Expression
$sas = @(Get-NetIPsecMainModeSA)
$in = ConvertFrom-Json -InputObject $InputJson
Invoke-Expression ("Remove-NetIPsecMainModeSA -Name " + $in.name)
