# remoteaccess-script: fixture/v1
# an authentication method read as an object only
foreach ($mm in @(Get-NetIPsecMainModeSA)) {
    $method = [string]$mm.RemoteSecondId.AuthenticationMethod
}
