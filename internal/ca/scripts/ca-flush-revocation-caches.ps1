# remoteaccess-script: ca-flush-revocation-caches/v1
#
# Runs on a Remote Access server: deletes its cached CRLs and makes the certificate chain engine resynchronise, so
# that the next connection is checked against the CRL the CA just published rather than a cached one that is valid
# until its nextUpdate. These are the two commands of Microsoft's procedure, with fixed arguments.
# Contract: internal/remoteaccess/scripts/CONTRACT.md, section 3.
# Input:  {}
# Output: {"result":{"url_cache_deleted":true,"chain_cache_resync":true}}
# Microsoft documentation:
#   "Block VPN clients that use revoked certificates" (Always On VPN deployment documentation):
#     certutil -urlcache * delete; certutil -setreg chain\ChainCacheResyncFiletime @now
#   certutil  https://learn.microsoft.com/windows-server/administration/windows-commands/certutil
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $null = certutil.exe -urlcache '*' delete
    if ($LASTEXITCODE -ne 0) {
        $ex = [System.InvalidOperationException]::new("certutil -urlcache * delete exited with code $LASTEXITCODE")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'UrlCache', 'InvalidResult', 'urlcache')
    }
    $null = certutil.exe -setreg 'chain\ChainCacheResyncFiletime' '@now'
    if ($LASTEXITCODE -ne 0) {
        $ex = [System.InvalidOperationException]::new("certutil -setreg chain\ChainCacheResyncFiletime @now exited with code $LASTEXITCODE")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'ChainCache', 'InvalidResult', 'ChainCacheResyncFiletime')
    }
    @{ result = @{ url_cache_deleted = $true; chain_cache_resync = $true } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
