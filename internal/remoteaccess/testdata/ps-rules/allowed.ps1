# remoteaccess-script: allowed/v1
# What the selecting scripts may do: exact comparisons, and Contains on a collection the script built; identities
# read through Get-IdText and Get-IdMethod; NLB by interface; VPN disconnects by address.
function Get-IdText($value) {
    if ($null -eq $value) { return '' }
    if ($value -is [string]) { return $value }
    [string]$value.Identity
}
function Get-IdMethod($value) {
    if ($null -eq $value -or $value -is [string]) { return '' }
    [string]$value.AuthenticationMethod
}
$sas = @(Get-NetIPsecMainModeSA)
$ids = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
$seen = [System.Collections.Generic.List[string]]::new()
foreach ($sa in $sas) {
    $first = Get-IdText $sa.RemoteFirstId
    if ($ids.Contains($first) -or $seen.Contains($first)) { $sa }
    if ([string]::Equals($first, 'CORP\CLIENT1$', [System.StringComparison]::OrdinalIgnoreCase)) { $sa }
    if ($first -eq 'CORP\CLIENT1$' -or @('a', 'b') -contains $first) { $sa }
    if ((Get-IdMethod $sa.RemoteSecondId) -eq 'UserKerberos') { $sa }
}
foreach ($nic in @(Get-NlbClusterNodeNetworkInterface)) {
    if ($nic.NlbBound) { $null = Stop-NlbClusterNode -InterfaceName ([string]$nic.InterfaceName) -Drain -Timeout 10 }
}
$null = Disconnect-VpnUser -HostIPAddress '10.10.0.5' -PassThru -Confirm:$false
