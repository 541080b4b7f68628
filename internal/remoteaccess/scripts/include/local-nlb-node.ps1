# remoteaccess-include: local-nlb-node
#
# How drain-node/v1 and resume-node/v1 find THIS server's NLB node objects (internal/lab/WINDOWS.md, NLB): drain and
# resume run on the node itself (the WMI methods fail on a remote node), so a node_name that is not this computer is
# refused; a host may have NLB bound on more than one interface (a DirectAccess cluster with two network adapters has
# an internal and an Internet NLB cluster), so every interface Get-NlbClusterNodeNetworkInterface shows NlbBound is
# named by -InterfaceName; -NodeName takes the short node name (an FQDN may be ObjectNotFound).
#   Get-NlbClusterNodeNetworkInterface  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternodenetworkinterface
#   Get-NlbClusterNode -InterfaceName -NodeName
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode

# Get-LocalNodeName checks that node_name names this computer and returns its first label; verb is what the caller
# does to the node ("drained", "resumed"), for the refusal.
function Get-LocalNodeName([string]$nodeName, [string]$verb) {
    if (-not $nodeName) {
        $ex = [System.ArgumentException]::new('node_name must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyNodeName', 'InvalidArgument', 'node_name')
    }
    $localName = [string]$env:COMPUTERNAME
    $shortName = ($nodeName -split '\.')[0]
    if (-not [string]::Equals($shortName, $localName, [System.StringComparison]::OrdinalIgnoreCase)) {
        $ex = [System.InvalidOperationException]::new("node $nodeName is not this server ($localName): an NLB node is $verb on the node itself")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'RemoteNode', 'InvalidOperation', $nodeName)
    }
    $shortName
}

# Get-NlbInterfaces lists the interfaces NLB is bound to on this server.
function Get-NlbInterfaces {
    @(foreach ($nic in @(Get-NlbClusterNodeNetworkInterface)) { if ($nic.NlbBound) { [string]$nic.InterfaceName } })
}

# Get-LocalNodes lists this node's node object on every interface, with the interface it was read on.
function Get-LocalNodes($interfaces, [string]$shortName) {
    @(foreach ($interface in $interfaces) {
        foreach ($n in @(Get-NlbClusterNode -InterfaceName $interface -NodeName $shortName)) { @{ node = $n; interface = $interface } }
    })
}

# Find-LocalNodes is Get-LocalNodes, and an ObjectNotFound error when this server has no such node.
function Find-LocalNodes($interfaces, [string]$shortName, [string]$nodeName) {
    $mine = @(Get-LocalNodes $interfaces $shortName)
    if ($mine.Count -eq 0) {
        $ex = [System.Management.Automation.ItemNotFoundException]::new("this server has no NLB node named $shortName")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NodeNotFound', 'ObjectNotFound', $nodeName)
    }
    $mine
}

# ConvertTo-NodeDocuments is the nodes document of drain-node/v1 and resume-node/v1 for node objects read by
# Get-LocalNodes.
function ConvertTo-NodeDocuments($mine) {
    @(foreach ($m in $mine) {
        @{ name = [string]$m.node.Name; interface_name = $m.interface; state = [string]$m.node.State; host_priority = [int]$m.node.HostPriority; is_local = $true }
    })
}
