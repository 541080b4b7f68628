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
# COM errors as include/ca-common.ps1 maps them (E_ACCESSDENIED here: the caller lacks "Issue and Manage
# Certificates").
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: ca-common
$config = ''
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $config = [string]$in.config
    Assert-CAConfig $config
    $admin = New-Object -ComObject CertificateAuthority.Admin
    $deltaUnits = 0
    try { $deltaUnits = [int]$admin.GetConfigEntry($config, '', 'CRLDeltaPeriodUnits') } catch { $deltaUnits = 0 }
    $flags = 1
    if ($deltaUnits -gt 0) { $flags = 3 }
    $admin.PublishCRLs($config, 0, $flags)
    @{ result = @{ base_published = $true; delta_published = ($deltaUnits -gt 0) } } | ConvertTo-Json -Compress -Depth 8
} catch {
    Write-CAError $_ $config
    exit 1
}
