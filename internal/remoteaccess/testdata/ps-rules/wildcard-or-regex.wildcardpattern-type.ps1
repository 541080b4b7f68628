# the WildcardPattern type
$sas = @(Get-NetIPsecMainModeSA)
$p = [System.Management.Automation.WildcardPattern]::new("*client1*")
