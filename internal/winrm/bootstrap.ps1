# remoteaccess-bootstrap/v1
# The only text ever put on the command line. stdin carries SCRIPT + four NULs + BASE64(UTF-8 JSON input);
# the script runs as a script block with the decoded JSON text as its one argument.
# The language check uses only what ConstrainedLanguage allows. RestrictedLanguage and NoLanguage refuse this whole
# script before it runs; the provider names that refusal (internal/lab/WINDOWS.md, Language modes).
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') { @{ error = @{ category = 'SecurityError'; target = 'LanguageMode'; message = "PowerShell on $env:COMPUTERNAME runs in $($ExecutionContext.SessionState.LanguageMode) mode (WDAC or AppLocker), which blocks the .NET calls the provider's scripts make: they need FullLanguage" } } | ConvertTo-Json -Compress; exit 1 }
try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false } catch { }
$payload = $input | Out-String
$parts = $payload.Split([string[]]@("`0`0`0`0"), 2, [StringSplitOptions]::None)
if ($parts.Length -ne 2) {
    [Console]::Error.WriteLine('remoteaccess-bootstrap: stdin has no script separator')
    exit 2
}
$json = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($parts[1].Trim()))
& ([ScriptBlock]::Create($parts[0])) $json
exit 0
