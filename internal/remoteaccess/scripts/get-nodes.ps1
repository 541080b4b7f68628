# remoteaccess-script: get-nodes/v1
#
# Lists the NLB node objects this server sees: every node of every NLB cluster bound on this host, one object per
# node and interface. A DirectAccess cluster with two network adapters has two NLB clusters (internal and Internet),
# and Get-NlbCluster without arguments is documented as "the local NLB cluster", one: so the interfaces come from
# Get-NlbClusterNodeNetworkInterface (every interface, with NlbBound) and each cluster is read by -InterfaceName
# (internal/lab/WINDOWS.md, NLB); is_local marks the node objects of the server that answered.
# States are passed on as NLB prints them (Converged, Converged(default), Converging, Draining..., Stopped,
# Suspended): the provider compares them by prefix (internal/lab/WINDOWS.md, NLB).
# Input:  {}
# Output: {"result":{"nodes":[{"name":"RAS1","interface_name":"Internet","state":"Converged(default)","host_priority":1,"is_local":true}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbClusterNodeNetworkInterface  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternodenetworkinterface
#     (InterfaceName, NlbBound)
#   Get-NlbClusterNode -InterfaceName
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
#     (Name, InterfaceName, State, HostPriority)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $localName = [string]$env:COMPUTERNAME
    $interfaces = @(foreach ($nic in @(Get-NlbClusterNodeNetworkInterface)) { if ($nic.NlbBound) { [string]$nic.InterfaceName } })
    $nodes = @(foreach ($interface in $interfaces) {
        foreach ($n in @(Get-NlbClusterNode -InterfaceName $interface)) {
            $name = [string]$n.Name
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
