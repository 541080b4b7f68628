# remoteaccess-script: get-nodes/v1
#
# Lists the NLB node objects this server sees: every node of every NLB cluster bound on this host, one object per
# node and interface. A Remote Access cluster may have NLB bound on more than one interface (internal and external),
# so one host can show several node objects (internal/lab/WINDOWS.md, NLB); is_local marks those of the server that answered.
# States are passed on as NLB prints them (Converged, Converged(default), Converging, Draining..., Stopped,
# Suspended): the provider compares them by prefix (internal/lab/WINDOWS.md, NLB).
# Input:  {}
# Output: {"result":{"nodes":[{"name":"RAS1","interface_name":"Internet","state":"Converged(default)","host_priority":1,"is_local":true}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbCluster  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbcluster
#   Get-NlbClusterNode -InputObject <Cluster[]>
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
#     (Name, InterfaceName, State, HostPriority)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $localName = [string]$env:COMPUTERNAME
    $nodes = @(foreach ($cluster in @(Get-NlbCluster)) {
        foreach ($n in @(Get-NlbClusterNode -InputObject $cluster)) {
            $name = [string]$n.Name
            $interface = [string]$n.InterfaceName
            if (-not $interface) { $interface = [string]$cluster.InterfaceName }
            # NLB names a node after its host; the documentation does not say whether that is the short name or the
            # FQDN, so both compare with the short computer name.
            $short = ($name -split '\.')[0]
            @{
                name           = $name
                interface_name = $interface
                state          = [string]$n.State
                host_priority  = [int]$n.HostPriority
                is_local       = [string]::Equals($short, $localName, [System.StringComparison]::OrdinalIgnoreCase)
            }
        }
    })
    @{ result = @{ nodes = $nodes } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
