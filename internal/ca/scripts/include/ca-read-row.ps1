# remoteaccess-include: ca-read-row
#
# Read-CARow, shared by the scripts that change one certificate: its row read by serial number, before and after the
# change. Needs ca-common, included before it.

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
