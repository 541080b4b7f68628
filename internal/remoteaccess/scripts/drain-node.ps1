# remoteaccess-script: drain-node/v1
#
# Drains THIS server's NLB node on every interface NLB is bound to: the node takes no new connections, keeps serving
# the existing ones, and stops when they are gone or when timeout_seconds have passed (connections still in progress
# then are interrupted). internal/lab/WINDOWS.md, NLB, from Microsoft's documentation:
#   - Stop-NlbClusterNode -Drain -Timeout counts SECONDS ("the number of seconds to wait for the drain operation").
#   - The cmdlet waits for the drain to end (its example returns the node Stopped): this is a long-running command,
#     and the caller's deadline must outlast timeout_seconds for every interface.
#   - The WMI DrainStop method fails on an instance that represents a remote node: drain runs on the node itself, so
#     this script refuses a node_name that is not this computer instead of reaching across the cluster.
#   - A host may have NLB bound on more than one interface (a DirectAccess cluster with two network adapters has an
#     internal and an Internet NLB cluster), and Get-NlbCluster without arguments is "the local NLB cluster", one:
#     the interfaces come from Get-NlbClusterNodeNetworkInterface (NlbBound), and each is drained by -InterfaceName.
#   - -NodeName takes the cluster node name, a short name in every example (an FQDN may be ObjectNotFound): the
#     node is looked up by the first label of node_name.
# Node objects already Stopped or Suspended are left as they are. States are reported as NLB prints them; callers
# compare them by prefix and poll get-nodes if a node object is still draining when the cmdlet returns.
# Input:  {"node_name":"RAS1","timeout_seconds":300}
# Output: {"result":{"nodes":[{"name":"RAS1","interface_name":"Internet","state":"Stopped","host_priority":1,"is_local":true}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbClusterNodeNetworkInterface  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternodenetworkinterface
#   Get-NlbClusterNode -InterfaceName -NodeName
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
#   Stop-NlbClusterNode -InterfaceName -Drain -Timeout <seconds> (without -HostName: the local node)
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/stop-nlbclusternode
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
# remoteaccess-include: local-nlb-node
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $nodeName = [string]$in.node_name
    $timeout = [uint32]$in.timeout_seconds
    if ($timeout -lt 1) {
        $ex = [System.ArgumentException]::new('timeout_seconds must be at least 1')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'DrainTimeout', 'InvalidArgument', 'timeout_seconds')
    }
    $shortName = Get-LocalNodeName $nodeName 'drained'
    $interfaces = @(Get-NlbInterfaces)
    $mine = @(Find-LocalNodes $interfaces $shortName $nodeName)
    foreach ($m in $mine) {
        $state = [string]$m.node.State
        if ($state.StartsWith('Stopped') -or $state.StartsWith('Suspended')) { continue }
        $null = Stop-NlbClusterNode -InterfaceName $m.interface -Drain -Timeout $timeout
    }
    $nodes = @(ConvertTo-NodeDocuments @(Get-LocalNodes $interfaces $shortName))
    @{ result = @{ nodes = $nodes } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
