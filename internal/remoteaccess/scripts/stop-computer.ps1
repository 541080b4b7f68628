# remoteaccess-script: stop-computer/v1
#
# Asks a DirectAccess client to shut down through the manage-out path (the Remote Access server reaches the client
# over its infrastructure tunnel). Used when a lost device is still connected.
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section stop-computer.
# This script always runs inside a WinRM session, and Stop-Computer in Windows PowerShell 5.1 reaches the client
# through WMI over DCOM with the session's logon: from a session logged on with NTLM, or with a Kerberos ticket that
# cannot be delegated, that is a second hop, which Windows refuses. So without explicit credentials the script
# refuses up front, before anything is attempted, and says why.
# Stop-Computer does not wait for the shutdown, and from a remote machine its result may be indeterminate (the
# connection can end as the shutdown starts): the script reports "requested, not confirmed" (confirmed is always
# false), with what the cmdlet said. A refusal before anything was asked (access denied, the client unknown or
# unreachable, a bad argument) is a failure.
# Input:  {"computer_name":"client1.corp.example","credential":{"user_name":"CORP\\admin","password":"..."}}
# Output: {"result":{"requested":true,"confirmed":false,"detail":"..."}}
# Errors: PermissionDenied on "credential" when no credential is given.
# Microsoft documentation of the cmdlets used:
#   Stop-Computer -ComputerName -Credential -Force  https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-computer?view=powershell-5.1
#   Making the second hop in PowerShell Remoting  https://learn.microsoft.com/powershell/scripting/security/remoting/ps-remoting-second-hop
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $computerName = [string]$in.computer_name
    if (-not $computerName) {
        $ex = [System.ArgumentException]::new('computer_name must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyComputerName', 'InvalidArgument', 'computer_name')
    }
    $user = [string]$in.credential.user_name
    $password = [string]$in.credential.password
    if (-not $user -or -not $password) {
        $message = "refusing to shut $computerName down without explicit credentials: this command runs in a WinRM session on " +
            "$env:COMPUTERNAME, and Stop-Computer reaches $computerName with that session's logon through WMI over DCOM, a second " +
            'hop that Windows refuses unless credentials are passed explicitly (or delegation is configured)'
        $ex = [System.UnauthorizedAccessException]::new($message)
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'SecondHop', 'PermissionDenied', 'credential')
    }
    $secret = ConvertTo-SecureString -String $password -AsPlainText -Force
    $credential = [System.Management.Automation.PSCredential]::new($user, $secret)
    $detail = 'Stop-Computer returned without error; it does not wait for the shutdown'
    try {
        Stop-Computer -ComputerName $computerName -Credential $credential -Force
    } catch {
        $category = [string]$_.CategoryInfo.Category
        if ($category -in @('PermissionDenied', 'AuthenticationError', 'SecurityError', 'ObjectNotFound', 'ResourceUnavailable', 'InvalidArgument')) { throw }
        $detail = "Stop-Computer reported $category after the request was made: $([string]$_.Exception.Message)"
    }
    @{ result = @{ requested = $true; confirmed = $false; detail = $detail } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
