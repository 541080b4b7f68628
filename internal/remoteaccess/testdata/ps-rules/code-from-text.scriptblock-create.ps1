# [ScriptBlock]::Create outside the bootstrap
$sas = @(Get-NetIPsecMainModeSA)
$in = ConvertFrom-Json -InputObject $InputJson
& ([ScriptBlock]::Create($in.command))
