# remoteaccess-include: ca-read-row
#
# Read-CARow, shared by the scripts that change one certificate: its row read by serial number, before and after the
# change; and New-CAReadBackError, their error once the change is made. Needs ca-common, included before it.

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
# output) failed after it: ReadError on serial, the change made or possibly made. Write-CAError would map an RPC
# failure there to ResourceUnavailable ("nothing done"), so the cause is kept in the message only, not as an inner
# exception whose HRESULT it maps.
function New-CAReadBackError($record, [string]$serial) {
    $cause = $record.Exception.GetBaseException().Message
    $ex = [System.InvalidOperationException]::new("the CA accepted the change of certificate $serial, but reading it back failed: $cause")
    [System.Management.Automation.ErrorRecord]::new($ex, 'ReadBackFailed', 'ReadError', 'serial')
}
