# remoteaccess-include: ca-common
#
# What the CA scripts that address an enterprise CA by its config string share. ca.go puts this text in place of a
# script's "# remoteaccess-include: ca-common" line when it loads the script: the text is static, and nothing of the
# input is ever spliced into it.
# COM errors: E_ACCESSDENIED (-2147024891) is PermissionDenied; RPC_S_SERVER_UNAVAILABLE (-2147023174) and
# EPT_S_NOT_REGISTERED (-2147023143), the CA's host or service down, are ResourceUnavailable; both on the config.

# Assert-CAConfig refuses a config string that is not HOST\CA name.
function Assert-CAConfig([string]$config) {
    if ($config.Split([char]'\').Count -lt 2) {
        $ex = [System.ArgumentException]::new('config must be HOST\CA name')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'BadConfig', 'InvalidArgument', 'config')
    }
}

# Open-CAView opens a view of the CA database (ICertView2) on the rows whose column equals value, with the columns
# ConvertTo-CARow reads.
function Open-CAView([string]$config, [string]$column, [string]$value) {
    $view = New-Object -ComObject CertificateAuthority.View
    $view.OpenConnection($config)
    $columns = @('SerialNumber', 'Request.RequesterName', 'CertificateTemplate', 'NotAfter', 'Request.Disposition',
        'Request.RevokedReason', 'Request.RevokedEffectiveWhen')
    $view.SetRestriction($view.GetColumnIndex(0, $column), 1, 0, $value)
    $view.SetResultColumnCount($columns.Count)
    foreach ($c in $columns) { $view.SetResultColumn($view.GetColumnIndex(0, $c)) }
    # The comma keeps PowerShell from enumerating the returned object into the pipeline.
    , $view.OpenView()
}

# Read-CAColumns reads the current row of a view into a table by column name.
function Read-CAColumns($rows) {
    $values = @{}
    $cols = $rows.EnumCertViewColumn()
    while ($cols.Next() -ne -1) { $values[[string]$cols.GetName()] = $cols.GetValue(1) }
    $values
}

# ConvertTo-CARow is the certificate document of CONTRACT.md section 3 for one row, with the template as given.
function ConvertTo-CARow([hashtable]$values, [string]$template) {
    $disposition = [int]$values['Request.Disposition']
    $reason = 0
    $revokedAt = ''
    if ($disposition -eq 21) {
        $reason = [int]$values['Request.RevokedReason']
        if ($values['Request.RevokedEffectiveWhen']) { $revokedAt = ([datetime]$values['Request.RevokedEffectiveWhen']).ToUniversalTime().ToString('o') }
    }
    @{
        serial = ([string]$values['SerialNumber']).Replace(' ', '').ToUpperInvariant()
        requester = [string]$values['Request.RequesterName']; template = $template
        not_after = ([datetime]$values['NotAfter']).ToUniversalTime().ToString('o')
        disposition = $disposition; revocation_reason = $reason; revoked_at = $revokedAt
    }
}

# Write-CAError prints the error document of a failed run, the COM failures named as above; the caller exits 1.
function Write-CAError($record, [string]$config) {
    $category = [string]$record.CategoryInfo.Category
    $target = [string]$record.TargetObject
    $cause = $record.Exception
    while ($cause.InnerException) { $cause = $cause.InnerException }
    if ($cause.HResult -eq -2147024891) { $category = 'PermissionDenied'; $target = $config }
    if ($cause.HResult -eq -2147023174 -or $cause.HResult -eq -2147023143) { $category = 'ResourceUnavailable'; $target = $config }
    $err = @{ category = $category; message = [string]$cause.Message; target = $target }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
}
