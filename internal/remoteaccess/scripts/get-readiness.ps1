# remoteaccess-script: get-readiness/v1
#
# Reads, without changing anything, what the provider relies on this server: the Windows build, the Remote Access
# role and what is configured, DirectAccess authentication, the NLB clusters and interfaces, the shape of the main-mode
# SA identities (one sample, masked), the WinRM quotas and settings, the HTTPS listener's certificate, the session's
# language mode, which of the provider's commands this session may run, and the revocation settings. Each part is
# read on its own: a part that fails is reported in errors and the others are still read.
# Input:  {"commands":["Get-NlbCluster","Stop-NlbClusterNode"]}
# Output: {"result":{"computer_name":"RAS1","windows":{"build":20348,"version":"10.0.20348","caption":"Microsoft Windows Server 2022 Datacenter"},"language_mode":"FullLanguage","remote_access":{"DAStatus":"Installed"},"directaccess_server":{"UserAuthentication":"UserPasswd"},"nlb_clusters":[{"name":"ra.corp.example","interface_name":"Internet"}],"nlb_interfaces":[{"interface_name":"Internet","nlb_bound":true}],"sa_identity":{"shape":"object","sample":"C**P\\C******$"},"winrm":{"max_shells_per_user":"30","max_concurrent_operations_per_user":"1500","max_processes_per_shell":"25","allow_remote_shell_access":"true","cbt_hardening_level":"Relaxed","https_listeners":[{"thumbprint":"AB12","not_after":"2027-01-31T00:00:00Z","found":true}]},"commands":[{"name":"Get-NlbCluster","available":true}],"ikev2_cert_auth_flags":4,"ipsec_cert_validation_level":"RequireCrlCheck","errors":{}}}
# Microsoft documentation of what is read (CONTRACT.md, get-readiness/v1, says what each value is used for):
#   Get-CimInstance Win32_OperatingSystem  https://learn.microsoft.com/windows/win32/cimwin32prov/win32-operatingsystem
#   Get-RemoteAccess  https://learn.microsoft.com/powershell/module/remoteaccess/get-remoteaccess
#   Get-DAServer  https://learn.microsoft.com/powershell/module/remoteaccess/get-daserver
#   Get-NlbCluster, Get-NlbClusterNodeNetworkInterface (InterfaceName, NlbBound)
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternodenetworkinterface
#   Get-NetIPsecMainModeSA (RemoteFirstId)  https://learn.microsoft.com/powershell/module/netsecurity/get-netipsecmainmodesa
#   WSMan: drive  https://learn.microsoft.com/windows/win32/winrm/installation-and-configuration-for-windows-remote-management
#   Ikev2 CertAuthFlags: the page "Block VPN clients that use revoked certificates" (4 enforces revocation)
#   Get-NetFirewallSetting -PolicyStore ActiveStore  https://learn.microsoft.com/powershell/module/netsecurity/get-netfirewallsetting
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: sa-identity

# Keeps the first and last character of each part of an identity (split at \ @ .), so that its shape shows and the
# name does not.
function Get-MaskedIdentity([string]$Text) {
    $parts = foreach ($p in ($Text -split '([\\@.])')) {
        if ($p.Length -le 2) { $p } else { $p.Substring(0, 1) + ('*' * ($p.Length - 2)) + $p.Substring($p.Length - 1) }
    }
    -join $parts
}

# Passes on every property as text: the documentation lists what the output holds, not the property names
# (CONTRACT.md, get-readiness/v1), so the provider picks them out.
function Get-Properties($Object) {
    $map = @{}
    if ($null -ne $Object) {
        foreach ($p in $Object.PSObject.Properties) { $map[$p.Name] = [string]$p.Value }
    }
    $map
}

function Get-WSManValue([string]$Path) {
    [string](Get-Item -Path $Path).Value
}

try {
    $in = $InputJson | ConvertFrom-Json
    $errors = @{}
    $out = @{ computer_name = [string]$env:COMPUTERNAME; language_mode = [string]$ExecutionContext.SessionState.LanguageMode }

    try {
        $os = Get-CimInstance -ClassName Win32_OperatingSystem
        $out.windows = @{ build = [int]$os.BuildNumber; version = [string]$os.Version; caption = [string]$os.Caption }
    } catch { $errors.windows = [string]$_.Exception.Message }

    try { $out.remote_access = Get-Properties (Get-RemoteAccess) } catch { $errors.remote_access = [string]$_.Exception.Message }
    try { $out.directaccess_server = Get-Properties (Get-DAServer) } catch { $errors.directaccess_server = [string]$_.Exception.Message }

    try {
        $nics = @(Get-NlbClusterNodeNetworkInterface)
        $out.nlb_interfaces = @(foreach ($i in $nics) { @{ interface_name = [string]$i.InterfaceName; nlb_bound = [bool]$i.NlbBound } })
        # Without -InterfaceName, Get-NlbCluster gives one cluster of the host: each bound interface is asked for its own.
        $out.nlb_clusters = @(foreach ($i in $nics) {
            if (-not $i.NlbBound) { continue }
            foreach ($c in @(Get-NlbCluster -InterfaceName ([string]$i.InterfaceName))) {
                @{ name = [string]$c.Name; interface_name = [string]$i.InterfaceName }
            }
        })
    } catch { $errors.nlb = [string]$_.Exception.Message }

    try {
        $sa = @(Get-NetIPsecMainModeSA) | Select-Object -First 1
        $shape = 'none'
        $sample = ''
        if ($null -ne $sa) {
            $id = $sa.RemoteFirstId
            $text = Get-IdText $id
            if ($text -eq '') {
                $shape = 'unreadable'
            } elseif ($id -is [string]) {
                $shape = 'string'
                $sample = Get-MaskedIdentity $text
            } else {
                $shape = 'object'
                $sample = Get-MaskedIdentity $text
            }
        }
        $out.sa_identity = @{ shape = $shape; sample = $sample }
    } catch { $errors.sa_identity = [string]$_.Exception.Message }

    try {
        $listeners = @(foreach ($l in @(Get-ChildItem -Path 'WSMan:\localhost\Listener')) {
            if (@($l.Keys) -notcontains 'Transport=HTTPS') { continue }
            $thumb = Get-WSManValue (Join-Path $l.PSPath 'CertificateThumbprint')
            $cert = Get-ChildItem -Path 'Cert:\LocalMachine\My' | Where-Object { $_.Thumbprint -eq $thumb } | Select-Object -First 1
            $notAfter = ''
            if ($null -ne $cert) { $notAfter = $cert.NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') }
            @{ thumbprint = $thumb; not_after = $notAfter; found = ($null -ne $cert) }
        })
        $out.winrm = @{
            max_shells_per_user                = Get-WSManValue 'WSMan:\localhost\Shell\MaxShellsPerUser'
            max_processes_per_shell            = Get-WSManValue 'WSMan:\localhost\Shell\MaxProcessesPerShell'
            allow_remote_shell_access          = Get-WSManValue 'WSMan:\localhost\Shell\AllowRemoteShellAccess'
            max_concurrent_operations_per_user = Get-WSManValue 'WSMan:\localhost\Service\MaxConcurrentOperationsPerUser'
            cbt_hardening_level                = Get-WSManValue 'WSMan:\localhost\Service\Auth\CbtHardeningLevel'
            https_listeners                    = $listeners
        }
    } catch { $errors.winrm = [string]$_.Exception.Message }

    $out.commands = @(foreach ($name in @($in.commands)) {
        @{ name = [string]$name; available = ($null -ne (Get-Command -Name ([string]$name) -ErrorAction SilentlyContinue)) }
    })

    try {
        $ikev2 = Get-ItemProperty -Path 'HKLM:\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2' -ErrorAction SilentlyContinue
        $out.ikev2_cert_auth_flags = $null
        if ($null -ne $ikev2 -and $null -ne $ikev2.CertAuthFlags) { $out.ikev2_cert_auth_flags = [int]$ikev2.CertAuthFlags }
    } catch { $errors.ikev2 = [string]$_.Exception.Message }
    try {
        $out.ipsec_cert_validation_level = [string](Get-NetFirewallSetting -PolicyStore ActiveStore).CertValidationLevel
    } catch { $errors.ipsec = [string]$_.Exception.Message }

    $out.errors = $errors
    @{ result = $out } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
