# ForEach-Object -Parallel
$sas = @(Get-NetIPsecMainModeSA)
$sas | ForEach-Object -Parallel { $_.Name }
