# the ?. operator
$sas = @(Get-NetIPsecMainModeSA)
$id = ${sas}?.Count
