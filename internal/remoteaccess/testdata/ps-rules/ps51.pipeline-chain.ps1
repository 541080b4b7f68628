# a pipeline chain operator
$sas = @(Get-NetIPsecMainModeSA)
Get-NetIPsecQuickModeSA && Get-NetIPsecMainModeSA
