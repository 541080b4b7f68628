# remoteaccess-script: ca-revoke/v1
#
# Revokes one certificate at an enterprise CA through ICertAdmin2::RevokeCertificate, after reading its row through
# ICertView2. Reason 6 (certificateHold) is the reversible hold; 0, 1, 3, 4 and 5 are permanent and the provider
# sends them only when the configuration names one. A certificate that is already revoked with a permanent reason
# is left as it is (changed false): a hold never replaces a permanent revocation. A hold on a held certificate
# changes nothing. Once RevokeCertificate has returned, a failure of what follows (the row read back: the CA's RPC
# endpoint gone between the two calls, a timeout) is ReadError on serial, and so is a failure of RevokeCertificate
# itself that may come after the CA acted (Test-CANotDone): the certificate is revoked, or may be, so it is never
# reported as the CA unreachable. Contract: internal/remoteaccess/scripts/CONTRACT.md, section 3.
# Input:  {"config":"ca1.corp.example\\Corp Issuing CA","serial":"1A2B","reason":6}
# Output: {"result":{"changed":true,"certificate":{"serial":"1A2B","requester":"CORP\\CLIENT1$","template":"...",
#   "not_after":"...","disposition":21,"revocation_reason":6,"revoked_at":"..."}}}
# Microsoft documentation of the interfaces used:
#   ICertAdmin2 (CertificateAuthority.Admin) RevokeCertificate
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
    $reason = [int]$in.reason
    Assert-CAConfig $config
    if (-not $serial) {
        $ex = [System.ArgumentException]::new('serial must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoSerial', 'InvalidArgument', 'serial')
    }
    if (@(0, 1, 3, 4, 5, 6) -notcontains $reason) {
        $ex = [System.ArgumentException]::new("reason $reason is not 0, 1, 3, 4, 5 or 6")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'BadReason', 'InvalidArgument', 'reason')
    }
    $row = Read-CARow $config $serial
    $held = $row.disposition -eq 21 -and $row.revocation_reason -eq 6
    $issued = $row.disposition -eq 20
    if ($issued -or ($held -and $reason -ne 6)) {
        $admin = New-Object -ComObject CertificateAuthority.Admin
        $sent = $true # from here on, a failure that may come after the CA acted is ReadError (New-CAReadBackError)
        $admin.RevokeCertificate($config, $serial, $reason, 0)
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
