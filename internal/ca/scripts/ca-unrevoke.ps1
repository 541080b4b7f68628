# remoteaccess-script: ca-unrevoke/v1
#
# Takes one certificate off hold at an enterprise CA: ICertAdmin2::RevokeCertificate with reason MAXDWORD
# (-1, certutil's "unrevoke"), which Windows accepts only for a certificate revoked with reason 6 (certificateHold).
# The row is read first through ICertView2: a certificate revoked with any other reason is refused
# (InvalidOperation), never unrevoked; one that is not revoked is left as it is (changed false).
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section 3.
# Input:  {"config":"ca1.corp.example\\Corp Issuing CA","serial":"1A2B"}
# Output: {"result":{"changed":true,"certificate":{"serial":"1A2B","requester":"CORP\\CLIENT1$","template":"...",
#   "not_after":"...","disposition":20,"revocation_reason":0,"revoked_at":""}}}
# Microsoft documentation of the interfaces used:
#   ICertAdmin2 (CertificateAuthority.Admin) RevokeCertificate, Reason MAXDWORD
#     https://learn.microsoft.com/windows/win32/api/certadm/nf-certadm-icertadmin-revokecertificate
#   ICertView2 (CertificateAuthority.View)  https://learn.microsoft.com/windows/win32/api/certview/nn-certview-icertview2
# COM errors: E_ACCESSDENIED (the caller lacks "Issue and Manage Certificates") is PermissionDenied,
# RPC_S_SERVER_UNAVAILABLE and EPT_S_NOT_REGISTERED are ResourceUnavailable, both on the config.
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
$config = ''
function Read-Row([string]$config, [string]$serial) {
    $view = New-Object -ComObject CertificateAuthority.View
    $view.OpenConnection($config)
    $columns = @('SerialNumber', 'Request.RequesterName', 'CertificateTemplate', 'NotAfter', 'Request.Disposition',
        'Request.RevokedReason', 'Request.RevokedEffectiveWhen')
    $view.SetRestriction($view.GetColumnIndex(0, 'SerialNumber'), 1, 0, $serial)
    $view.SetResultColumnCount($columns.Count)
    foreach ($c in $columns) { $view.SetResultColumn($view.GetColumnIndex(0, $c)) }
    $rows = $view.OpenView()
    if ($rows.Next() -eq -1) {
        $ex = [System.Management.Automation.ItemNotFoundException]::new("the CA has no certificate with serial number $serial")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoSuchSerial', 'ObjectNotFound', 'serial')
    }
    $values = @{}
    $cols = $rows.EnumCertViewColumn()
    while ($cols.Next() -ne -1) { $values[[string]$cols.GetName()] = $cols.GetValue(1) }
    $disposition = [int]$values['Request.Disposition']
    $reason = 0
    $revokedAt = ''
    if ($disposition -eq 21) {
        $reason = [int]$values['Request.RevokedReason']
        if ($values['Request.RevokedEffectiveWhen']) { $revokedAt = ([datetime]$values['Request.RevokedEffectiveWhen']).ToUniversalTime().ToString('o') }
    }
    @{
        serial = ([string]$values['SerialNumber']).Replace(' ', '').ToUpperInvariant()
        requester = [string]$values['Request.RequesterName']; template = [string]$values['CertificateTemplate']
        not_after = ([datetime]$values['NotAfter']).ToUniversalTime().ToString('o')
        disposition = $disposition; revocation_reason = $reason; revoked_at = $revokedAt
    }
}
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $config = [string]$in.config
    $serial = ([string]$in.serial).Replace(' ', '')
    if (-not $config.Contains('\')) {
        $ex = [System.ArgumentException]::new('config must be HOST\CA name')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'BadConfig', 'InvalidArgument', 'config')
    }
    if (-not $serial) {
        $ex = [System.ArgumentException]::new('serial must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoSerial', 'InvalidArgument', 'serial')
    }
    $row = Read-Row $config $serial
    $changed = $false
    if ($row.disposition -eq 21 -and $row.revocation_reason -ne 6) {
        $ex = [System.InvalidOperationException]::new("certificate $serial is revoked with reason $($row.revocation_reason), which is permanent: only a hold (reason 6) can be undone")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'PermanentRevocation', 'InvalidOperation', 'serial')
    }
    if ($row.disposition -eq 21) {
        $admin = New-Object -ComObject CertificateAuthority.Admin
        $admin.RevokeCertificate($config, $serial, -1, 0)
        $changed = $true
        $row = Read-Row $config $serial
    }
    @{ result = @{ changed = $changed; certificate = $row } } | ConvertTo-Json -Compress -Depth 8
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
