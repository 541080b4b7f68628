# remoteaccess-script: fixture/v1
# a disconnect by a user name the cmdlet may not take
foreach ($c in @(Get-RemoteAccessConnectionStatistics)) {
    $null = Disconnect-VpnUser -UserName ([string]$c.UserName[0]) -Confirm:$false
}
