# remoteaccess-script: ca-get-revocation-enforcement/v1
#
# Runs on a Remote Access server and reads, without changing anything, whether it enforces certificate revocation:
# for IKEv2 machine-certificate connections (Always On VPN device tunnels) the CertAuthFlags value under
# HKLM\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2 (4 enforces; 2 or absent does not; Microsoft
# documents no other value, so any other is reported as not enforced), and for IPsec (DirectAccess) the global
# CertValidationLevel in force (the active store, which includes Group Policy): None, AttemptCrlCheck (refuses a
# revoked certificate when the CRL can be fetched) or RequireCrlCheck (also refuses when it cannot).
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section 3.
# Input:  {}
# Output: {"result":{"ikev2_cert_auth_flags":4,"ikev2_enforced":true,"ipsec_cert_validation_level":"None"}}
# Microsoft documentation:
#   "Block VPN clients that use revoked certificates" (Always On VPN deployment documentation): CertAuthFlags
#   Get-NetFirewallSetting -PolicyStore ActiveStore (CertValidationLevel)
#     https://learn.microsoft.com/powershell/module/netsecurity/get-netfirewallsetting
#   Set-NetFirewallSetting -CertValidationLevel  https://learn.microsoft.com/powershell/module/netsecurity/set-netfirewallsetting
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2'
    $flags = $null
    $item = Get-ItemProperty -Path $key -Name 'CertAuthFlags' -ErrorAction SilentlyContinue
    if ($null -ne $item) { $flags = [int]$item.CertAuthFlags }
    $level = [string](Get-NetFirewallSetting -PolicyStore ActiveStore).CertValidationLevel
    if (-not $level) { $level = 'None' }
    $out = @{ ikev2_cert_auth_flags = $flags; ikev2_enforced = ($flags -eq 4); ipsec_cert_validation_level = $level }
    @{ result = $out } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
