# remoteaccess-script: resume-node/v1
#
# Brings THIS server's NLB node back into the cluster on every interface NLB is bound to, after a drain or a
# suspension: a Suspended node object is resumed first (which leaves it Stopped), then every node object that is
# neither converged nor converging is started. It does not wait for convergence: the caller polls get-nodes until
# every interface reports a Converged state. internal/lab/WINDOWS.md, NLB: drain and resume run on the node itself (the WMI
# methods fail on a remote node), so a node_name that is not this computer is refused; a host may have NLB on more
# than one interface (internal and Internet clusters), so every interface Get-NlbClusterNodeNetworkInterface shows
# NlbBound is handled by -InterfaceName; -NodeName gets the short node name (an FQDN may be ObjectNotFound); states
# compare by prefix (Converged, Converged(default), Converging, Stopped, Suspended).
# Input:  {"node_name":"RAS1"}
# Output: {"result":{"nodes":[{"name":"RAS1","interface_name":"Internet","state":"Converging","host_priority":1,"is_local":true}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbClusterNodeNetworkInterface  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternodenetworkinterface
#   Get-NlbClusterNode -InterfaceName -NodeName
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
#   Resume-NlbClusterNode -InterfaceName  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/resume-nlbclusternode
#   Start-NlbClusterNode -InterfaceName   https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/start-nlbclusternode
#   (without -HostName, both act on the local node)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: local-nlb-node
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $nodeName = [string]$in.node_name
    $shortName = Get-LocalNodeName $nodeName 'resumed'
    $interfaces = @(Get-NlbInterfaces)
    $mine = @(Find-LocalNodes $interfaces $shortName $nodeName)
    foreach ($m in $mine) {
        if (([string]$m.node.State).StartsWith('Suspended')) { $null = Resume-NlbClusterNode -InterfaceName $m.interface }
    }
    foreach ($m in @(Get-LocalNodes $interfaces $shortName)) {
        if (-not ([string]$m.node.State).StartsWith('Converg')) { $null = Start-NlbClusterNode -InterfaceName $m.interface }
    }
    $nodes = @(ConvertTo-NodeDocuments @(Get-LocalNodes $interfaces $shortName))
    @{ result = @{ nodes = $nodes } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
