# remoteaccess-include: sa-identity
#
# How the scripts read a main-mode SA's remote identities. MSFT_NetMainModeSA's class page lists RemoteFirstId and
# RemoteSecondId as strings; the seed article's commands read objects with .Identity and .AuthenticationMethod. Both
# shapes are read, here only (CONTRACT.md, section 1).

# Get-IdText is the identity of RemoteFirstId or RemoteSecondId, '' when there is none.
function Get-IdText($value) {
    if ($null -eq $value) { return '' }
    if ($value -is [string]) { return $value }
    [string]$value.Identity
}

# Get-IdMethod is the authentication method of RemoteFirstId or RemoteSecondId, '' when the shape carries none.
function Get-IdMethod($value) {
    if ($null -eq $value -or $value -is [string]) { return '' }
    [string]$value.AuthenticationMethod
}
