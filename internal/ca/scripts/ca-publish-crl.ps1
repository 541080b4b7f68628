# remoteaccess-script: ca-publish-crl/v1
#
# Publishes a new base CRL at an enterprise CA, and a delta CRL where the CA publishes deltas (its configuration
# entry CRLDeltaPeriodUnits is not 0), through ICertAdmin2::PublishCRLs with a next update taken from the CA's own
# settings (Date 0). Without this a revocation reaches no relying party before the next scheduled CRL.
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section 3.
# Input:  {"config":"ca1.corp.example\\Corp Issuing CA"}
# Output: {"result":{"base_published":true,"delta_published":false}}
# Microsoft documentation of the interfaces used:
#   ICertAdmin2::PublishCRLs (CA_CRL_BASE 1, CA_CRL_DELTA 2)
#     https://learn.microsoft.com/windows/win32/api/certadm/nf-certadm-icertadmin2-publishcrls
#   ICertAdmin2::GetConfigEntry  https://learn.microsoft.com/windows/win32/api/certadm/nf-certadm-icertadmin2-getconfigentry
# COM errors: E_ACCESSDENIED (the caller lacks "Issue and Manage Certificates") is PermissionDenied,
# RPC_S_SERVER_UNAVAILABLE and EPT_S_NOT_REGISTERED are ResourceUnavailable, both on the config.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
$config = ''
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $config = [string]$in.config
    if (-not $config.Contains('\')) {
        $ex = [System.ArgumentException]::new('config must be HOST\CA name')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'BadConfig', 'InvalidArgument', 'config')
    }
    $admin = New-Object -ComObject CertificateAuthority.Admin
    $deltaUnits = 0
    try { $deltaUnits = [int]$admin.GetConfigEntry($config, '', 'CRLDeltaPeriodUnits') } catch { $deltaUnits = 0 }
    $flags = 1
    if ($deltaUnits -gt 0) { $flags = 3 }
    $admin.PublishCRLs($config, 0, $flags)
    @{ result = @{ base_published = $true; delta_published = ($deltaUnits -gt 0) } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $category = [string]$_.CategoryInfo.Category
    $target = [string]$_.TargetObject
    $cause = $_.Exception
    while ($cause.InnerException) { $cause = $cause.InnerException }
    if ($cause.HResult -eq -2147024891) { $category = 'PermissionDenied'; $target = $config }
    if ($cause.HResult -eq -2147023174 -or $cause.HResult -eq -2147023143) { $category = 'ResourceUnavailable'; $target = $config }
    $err = @{ category = $category; message = [string]$cause.Message; target = $target }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
