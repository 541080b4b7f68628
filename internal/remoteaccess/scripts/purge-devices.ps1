# remoteaccess-script: purge-devices/v1
#
# Cuts several devices off THIS server in one PowerShell run: for each device, what purge-device/v1 does for one
# (include/device-purge.ps1). Contract: internal/remoteaccess/scripts/CONTRACT.md, section purge-devices. The SAs and
# the connection statistics are listed once for the batch; each device then selects from those lists by its own
# identities and computer name.
# Each device runs in a try of its own: a device whose removal fails gets an "error" entry and the next device is
# still purged. A failure of the batch itself (its input, or a listing) comes before any device is touched.
# With "look" (get-ipsec-sas/v1's input), the batch then lists what the server holds for those identities, as
# get-ipsec-sas/v1 does (include/ipsec-look.ps1), after every device of the batch: the verify windows that wait on
# the server ride the batch instead of starting a PowerShell of their own. A look that fails
# gives "look_error" and leaves the devices' results as they are.
# Input:  {"devices":[{"identities":["CORP\\CLIENT1$","client1.corp.example"],"computer_name":"CLIENT1","disconnect_vpn":true}],
#          "look":{"identities":["CORP\\CLIENT2$"],"device":true}?}
# Output: {"result":{"devices":[{"main_mode_removed":2,"main_mode_matched_by_endpoint":0,"quick_mode_removed":4,
#          "vpn_device_tunnels_disconnected":0,"vpn_disconnect_failures":[],"indeterminate":false,"indeterminate_reason":""},
#          {"error":{"category":"PermissionDenied","message":"Access is denied.","target":"7"}}],
#          "look":{get-ipsec-sas/v1's result}|null,"look_error":{"category","message","target"}|null}}
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
# remoteaccess-include: ipsec-look
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $devices = @($in.devices)
    if ($devices.Count -eq 0) {
        $ex = [System.ArgumentException]::new('devices must name at least one device')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyDevices', 'InvalidArgument', 'devices')
    }
    $rows = @(Get-RemoteAccessConnectionStatistics)
    $all = @(Get-NetIPsecMainModeSA)

    $results = [System.Collections.Generic.List[object]]::new()
    foreach ($device in $devices) {
        try {
            $results.Add((Invoke-DevicePurge $device $all $rows))
        } catch {
            # This device's failure only: what it removed before it stays removed, and the batch goes on.
            $results.Add(@{ error = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject } })
        }
    }

    # A look rides the batch: what get-ipsec-sas/v1 would list now, after the purges, for the identities of the
    # verify windows waiting on this server. Its failure is its own, not the devices'.
    $look = $null
    $lookError = $null
    if ($null -ne $in.look) {
        try {
            $look = Get-IPsecLook $in.look
        } catch {
            $lookError = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
        }
    }
    @{ result = @{ devices = $results.ToArray(); look = $look; look_error = $lookError } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
