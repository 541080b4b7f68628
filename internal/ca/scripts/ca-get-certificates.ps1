# remoteaccess-script: ca-get-certificates/v1
#
# Lists the certificates an enterprise CA issued to one requester (the computer account, DOMAIN\NAME$), restricted
# to named templates, from the CA database through ICertView2 (never certutil's localized text). Rows that are
# neither issued (Disposition 20) nor revoked (21) are left out. Contract: internal/remoteaccess/scripts/CONTRACT.md,
# section 3. A template is named by its name or its OID: the database stores a version 2 template's OID, so names
# are resolved through the template objects of the configuration partition.
# Input:  {"config":"ca1.corp.example\\Corp Issuing CA","requester":"CORP\\CLIENT1$","templates":["AOVPNDeviceTunnel"]}
# Output: {"result":{"certificates":[{"serial":"1A2B","requester":"CORP\\CLIENT1$","template":"AOVPNDeviceTunnel",
#   "not_after":"2027-01-01T00:00:00.0000000Z","disposition":20,"revocation_reason":0,"revoked_at":""}]}}
# Microsoft documentation of the interfaces used:
#   ICertView2 (CertificateAuthority.View): OpenConnection, GetColumnIndex, SetRestriction, SetResultColumnCount,
#     SetResultColumn, OpenView  https://learn.microsoft.com/windows/win32/api/certview/nn-certview-icertview2
#   IEnumCERTVIEWROW / IEnumCERTVIEWCOLUMN  https://learn.microsoft.com/windows/win32/api/certview/nn-certview-ienumcertviewrow
#   [MS-CRTD] Certificate Templates Structure: the template object's msPKI-Cert-Template-OID attribute
# COM errors as include/ca-common.ps1 maps them (E_ACCESSDENIED here: no read access to the CA database).
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: ca-common
$config = ''
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $config = [string]$in.config
    $requester = [string]$in.requester
    $templates = @($in.templates | Where-Object { $_ } | ForEach-Object { [string]$_ })
    Assert-CAConfig $config
    if (-not $requester) {
        $ex = [System.ArgumentException]::new('requester must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoRequester', 'InvalidArgument', 'requester')
    }
    $ignoreCase = [System.StringComparison]::OrdinalIgnoreCase
    # name or OID -> the name the caller used
    $wanted = [System.Collections.Generic.Dictionary[string, string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($t in $templates) { $wanted[$t] = $t }
    if ($templates.Count -gt 0) {
        $configNC = [string]([adsi]'LDAP://RootDSE').configurationNamingContext
        $container = [adsi]('LDAP://CN=Certificate Templates,CN=Public Key Services,CN=Services,' + $configNC)
        foreach ($child in $container.Children) {
            $cn = [string]$child.Properties['cn'].Value
            $oid = [string]$child.Properties['msPKI-Cert-Template-OID'].Value
            if ($oid -and $wanted.ContainsKey($cn)) { $wanted[$oid] = $cn }
        }
    }
    $rows = Open-CAView $config 'Request.RequesterName' $requester
    $certificates = [System.Collections.Generic.List[object]]::new()
    while ($rows.Next() -ne -1) {
        $values = Read-CAColumns $rows
        $disposition = [int]$values['Request.Disposition']
        if ($disposition -ne 20 -and $disposition -ne 21) { continue }
        if (-not [string]::Equals([string]$values['Request.RequesterName'], $requester, $ignoreCase)) { continue }
        $template = [string]$values['CertificateTemplate']
        if ($templates.Count -gt 0) {
            if (-not $wanted.ContainsKey($template)) { continue }
            $template = $wanted[$template]
        }
        $certificates.Add((ConvertTo-CARow $values $template))
    }
    @{ result = @{ certificates = @($certificates) } } | ConvertTo-Json -Compress -Depth 8
} catch {
    Write-CAError $_ $config
    exit 1
}
