# ConvertFrom-Json -AsHashtable
$sas = @(Get-NetIPsecMainModeSA)
$in = ConvertFrom-Json -InputObject $InputJson -AsHashtable
