# remoteaccess-script: stop-computer/v1
#
# Asks a DirectAccess client to shut down through the manage-out path (the Remote Access server reaches the client
# over its infrastructure tunnel). Used when a lost device is still connected.
# Input:  {"computer_name":"client1.corp.example"}
# Output: {"result":{"requested":true}}
# Microsoft documentation of the cmdlets used:
#   Stop-Computer -ComputerName -Force  https://learn.microsoft.com/powershell/module/microsoft.powershell.management/stop-computer
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $computerName = [string]$in.computer_name
    if (-not $computerName) {
        $ex = [System.ArgumentException]::new('computer_name must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyComputerName', 'InvalidArgument', 'computer_name')
    }
    Stop-Computer -ComputerName $computerName -Force
    @{ result = @{ requested = $true } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
