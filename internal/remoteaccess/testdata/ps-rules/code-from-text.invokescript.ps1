# InvokeScript
$sas = @(Get-NetIPsecMainModeSA)
$in = ConvertFrom-Json -InputObject $InputJson
$ExecutionContext.InvokeCommand.InvokeScript([string]$in.command)
