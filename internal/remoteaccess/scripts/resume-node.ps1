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
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $nodeName = [string]$in.node_name
    if (-not $nodeName) {
        $ex = [System.ArgumentException]::new('node_name must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyNodeName', 'InvalidArgument', 'node_name')
    }
    $localName = [string]$env:COMPUTERNAME
    $shortName = ($nodeName -split '\.')[0]
    if (-not [string]::Equals($shortName, $localName, [System.StringComparison]::OrdinalIgnoreCase)) {
        $ex = [System.InvalidOperationException]::new("node $nodeName is not this server ($localName): an NLB node is resumed on the node itself")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'RemoteNode', 'InvalidOperation', $nodeName)
    }
    $interfaces = @(foreach ($nic in @(Get-NlbClusterNodeNetworkInterface)) { if ($nic.NlbBound) { [string]$nic.InterfaceName } })
    # This node's node object on every interface, with the interface it was read on.
    function Get-LocalNodes {
        @(foreach ($interface in $interfaces) {
            foreach ($n in @(Get-NlbClusterNode -InterfaceName $interface -NodeName $shortName)) { @{ node = $n; interface = $interface } }
        })
    }
    $mine = @(Get-LocalNodes)
    if ($mine.Count -eq 0) {
        $ex = [System.Management.Automation.ItemNotFoundException]::new("this server has no NLB node named $shortName")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NodeNotFound', 'ObjectNotFound', $nodeName)
    }
    foreach ($m in $mine) {
        if (([string]$m.node.State).StartsWith('Suspended')) { $null = Resume-NlbClusterNode -InterfaceName $m.interface }
    }
    foreach ($m in @(Get-LocalNodes)) {
        if (-not ([string]$m.node.State).StartsWith('Converg')) { $null = Start-NlbClusterNode -InterfaceName $m.interface }
    }
    $nodes = @(foreach ($m in @(Get-LocalNodes)) {
        @{ name = [string]$m.node.Name; interface_name = $m.interface; state = [string]$m.node.State; host_priority = [int]$m.node.HostPriority; is_local = $true }
    })
    @{ result = @{ nodes = $nodes } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
