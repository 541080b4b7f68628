# remoteaccess-script: ca-unrevoke/v1
#
# Takes one certificate off hold at an enterprise CA: ICertAdmin2::RevokeCertificate with reason MAXDWORD
# (-1, certutil's "unrevoke"), which Windows accepts only for a certificate revoked with reason 6 (certificateHold).
# The row is read first through ICertView2: a certificate revoked with any other reason is refused
# (InvalidOperation), never unrevoked; one that is not revoked is left as it is (changed false). Once
# RevokeCertificate has returned, a failure of what follows (the row read back) is ReadError on serial, and so is a
# failure of RevokeCertificate itself that may come after the CA acted (Test-CANotDone): the hold is taken off, or may
# be, so it is never reported as the CA unreachable.
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section 3.
# Input:  {"config":"ca1.corp.example\\Corp Issuing CA","serial":"1A2B"}
# Output: {"result":{"changed":true,"certificate":{"serial":"1A2B","requester":"CORP\\CLIENT1$","template":"...",
#   "not_after":"...","disposition":20,"revocation_reason":0,"revoked_at":""}}}
# Microsoft documentation of the interfaces used:
#   ICertAdmin2 (CertificateAuthority.Admin) RevokeCertificate, Reason MAXDWORD
#     https://learn.microsoft.com/windows/win32/api/certadm/nf-certadm-icertadmin-revokecertificate
#   ICertView2 (CertificateAuthority.View)  https://learn.microsoft.com/windows/win32/api/certview/nn-certview-icertview2
# COM errors as include/ca-common.ps1 maps them (E_ACCESSDENIED here: the caller lacks "Issue and Manage
# Certificates").
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: ca-common
# remoteaccess-include: ca-read-row
$config = ''
$sent = $false
$changed = $false
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $config = [string]$in.config
    $serial = ([string]$in.serial).Replace(' ', '')
    Assert-CAConfig $config
    if (-not $serial) {
        $ex = [System.ArgumentException]::new('serial must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoSerial', 'InvalidArgument', 'serial')
    }
    $row = Read-CARow $config $serial
    if ($row.disposition -eq 21 -and $row.revocation_reason -ne 6) {
        $ex = [System.InvalidOperationException]::new("certificate $serial is revoked with reason $($row.revocation_reason), which is permanent: only a hold (reason 6) can be undone")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'PermanentRevocation', 'InvalidOperation', 'serial')
    }
    if ($row.disposition -eq 21) {
        $admin = New-Object -ComObject CertificateAuthority.Admin
        $sent = $true # from here on, a failure that may come after the CA acted is ReadError (New-CAReadBackError)
        $admin.RevokeCertificate($config, $serial, -1, 0)
        $changed = $true
        $row = Read-CARow $config $serial
    }
    @{ result = @{ changed = $changed; certificate = $row } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $record = $_
    if ($changed -or ($sent -and -not (Test-CANotDone $record))) { $record = New-CAReadBackError $record $serial $changed }
    Write-CAError $record $config
    exit 1
}
