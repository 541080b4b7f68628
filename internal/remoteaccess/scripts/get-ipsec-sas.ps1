# remoteaccess-script: get-ipsec-sas/v1
#
# Lists what THIS server holds for a device or a user. Contract: internal/remoteaccess/scripts/CONTRACT.md, section
# get-ipsec-sas. What it lists and how it matches is include/ipsec-look.ps1's.
# Input:  {"identities":["CORP\\CLIENT1$","client1.corp.example"]?,"device":true?}
# Output: {"result":{"main_mode":[{"name",...,"matched_by":"identity","quick_mode_count":2}],"quick_mode_count":2,
#          "vpn_connections":[{"user_names":[..],"host_name",...,"device_tunnel":true}],
#          "indeterminate":false,"indeterminate_reason":"","indeterminate_host_names":[]}}
# Microsoft documentation of the cmdlets used: those of the helper (include/ipsec-look.ps1), such as
#   Get-NetIPsecMainModeSA   https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: sa-identity
# remoteaccess-include: connection-addresses
# remoteaccess-include: ipsec-look
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $result = Get-IPsecLook $in
    @{ result = $result } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
