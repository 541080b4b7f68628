# remoteaccess-script: ca-get-certificate-states/v1
#
# Reads certificates of an enterprise CA by serial number, from the CA database through ICertView2 (never certutil's
# localized text): what a refresh needs to tell whether the certificates a block holds are still on hold. A serial
# the CA does not have is left out of the answer. Contract: internal/remoteaccess/scripts/CONTRACT.md, section 3.
# Input:  {"config":"ca1.corp.example\\Corp Issuing CA","serials":["1A2B","3C4D"]}
# Output: {"result":{"certificates":[{"serial":"1A2B","requester":"CORP\\CLIENT1$","template":"1.3.6.1.4.1.311...",
#   "not_after":"2027-01-01T00:00:00.0000000Z","disposition":21,"revocation_reason":6,"revoked_at":"..."}]}}
# Microsoft documentation of the interfaces used:
#   ICertView2 (CertificateAuthority.View): OpenConnection, GetColumnIndex, SetRestriction, SetResultColumnCount,
#     SetResultColumn, OpenView  https://learn.microsoft.com/windows/win32/api/certview/nn-certview-icertview2
#   IEnumCERTVIEWROW / IEnumCERTVIEWCOLUMN  https://learn.microsoft.com/windows/win32/api/certview/nn-certview-ienumcertviewrow
# COM errors as include/ca-common.ps1 maps them (E_ACCESSDENIED here: no read access to the CA database).
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: ca-common
$config = ''
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $config = [string]$in.config
    $serials = @($in.serials | ForEach-Object { ([string]$_).Replace(' ', '') })
    Assert-CAConfig $config
    if ($serials.Count -eq 0 -or @($serials | Where-Object { -not $_ }).Count -gt 0) {
        $ex = [System.ArgumentException]::new('serials must name at least one serial number, none empty')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoSerial', 'InvalidArgument', 'serials')
    }
    $certificates = [System.Collections.Generic.List[object]]::new()
    foreach ($serial in $serials) {
        $rows = Open-CAView $config 'SerialNumber' $serial
        if ($rows.Next() -eq -1) { continue } # the CA has no such certificate: left out
        $values = Read-CAColumns $rows
        $certificates.Add((ConvertTo-CARow $values ([string]$values['CertificateTemplate'])))
    }
    @{ result = @{ certificates = @($certificates) } } | ConvertTo-Json -Compress -Depth 8
} catch {
    Write-CAError $_ $config
    exit 1
}
