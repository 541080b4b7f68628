# remoteaccess-script: purge-device/v1
#
# Cuts a device off THIS server. Contract: internal/remoteaccess/scripts/CONTRACT.md, section purge-device. What is
# removed, disconnected and reported, and when the result is "indeterminate", is include/device-purge.ps1's.
# Input:  {"identities":["CORP\\CLIENT1$","client1.corp.example"],"computer_name":"CLIENT1","disconnect_vpn":true}
# Output: {"result":{"main_mode_removed":2,"main_mode_matched_by_endpoint":0,"quick_mode_removed":4,
#          "vpn_device_tunnels_disconnected":0,"vpn_disconnect_failures":[],"indeterminate":false,"indeterminate_reason":""}}
# Microsoft documentation of the cmdlets used:
#   Get-NetIPsecMainModeSA  https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#   Get-RemoteAccessConnectionStatistics  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccessconnectionstatistics
#   and those of the helpers (include/remove-sa.ps1, include/device-purge.ps1).
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: sa-identity
# remoteaccess-include: connection-addresses
# remoteaccess-include: remove-sa
# remoteaccess-include: device-purge
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $rows = @(Get-RemoteAccessConnectionStatistics)
    $all = @(Get-NetIPsecMainModeSA)
    $result = Invoke-DevicePurge $in $all $rows
    @{ result = $result } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
