# remoteaccess-include: ca-read-row
#
# Read-CARow, shared by the scripts that change one certificate: its row read by serial number, before and after the
# change; New-CAReadBackError, their error once the change is made or may have been; and Test-CANotDone. Needs
# ca-common, included before it.

# Read-CARow reads one certificate's row by serial number; a serial the CA does not have is ObjectNotFound.
function Read-CARow([string]$config, [string]$serial) {
    $rows = Open-CAView $config 'SerialNumber' $serial
    if ($rows.Next() -eq -1) {
        $ex = [System.Management.Automation.ItemNotFoundException]::new("the CA has no certificate with serial number $serial")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NoSuchSerial', 'ObjectNotFound', 'serial')
    }
    $values = Read-CAColumns $rows
    ConvertTo-CARow $values ([string]$values['CertificateTemplate'])
}

# New-CAReadBackError is the error of a run whose RevokeCertificate returned without error and whose read-back (or
# output) failed after it ($accepted), or whose RevokeCertificate failed after it may have reached the CA (Test-CANotDone
# false): ReadError on serial, the change made or possibly made. Write-CAError would map an RPC failure there to
# ResourceUnavailable ("nothing done"), so the cause is kept in the message only, not as an inner exception whose
# HRESULT it maps.
function New-CAReadBackError($record, [string]$serial, [bool]$accepted) {
    $cause = $record.Exception.GetBaseException().Message
    $what = "the CA accepted the change of certificate $serial, but reading it back failed: $cause"
    if (-not $accepted) { $what = "the change of certificate $serial may have been made: RevokeCertificate failed after it was sent: $cause" }
    $ex = [System.InvalidOperationException]::new($what)
    [System.Management.Automation.ErrorRecord]::new($ex, 'ReadBackFailed', 'ReadError', 'serial')
}

# Test-CANotDone says whether a failed RevokeCertificate certainly changed nothing: the CA's host or service was not
# reached (RPC_S_SERVER_UNAVAILABLE, EPT_S_NOT_REGISTERED) or refused the call (E_ACCESSDENIED, E_INVALIDARG). Any
# other failure of the call (RPC_S_CALL_FAILED, a connection reset) may come after the CA carried it out.
function Test-CANotDone($record) {
    $code = $record.Exception.GetBaseException().HResult
    @(-2147023174, -2147023143, -2147024891, -2147024809) -contains $code
}
