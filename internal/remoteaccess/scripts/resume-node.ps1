# remoteaccess-script: resume-node/v1
#
# Brings THIS server's NLB node back into the cluster on every interface NLB is bound to, after a drain or a
# suspension: a Suspended node object is resumed first (which leaves it Stopped), then every node object that is
# neither converged nor converging is started. It does not wait for convergence: the caller polls get-nodes until
# every interface reports a Converged state. internal/lab/WINDOWS.md, NLB: drain and resume run on the node itself (the WMI
# methods fail on a remote node), so a node_name that is not this computer is refused; a host may have NLB on more
# than one interface, so every node object of this host is handled; states compare by prefix (Converged,
# Converged(default), Converging, Stopped, Suspended).
# Input:  {"node_name":"RAS1"}
# Output: {"result":{"nodes":[{"name":"RAS1","interface_name":"Internet","state":"Converging","host_priority":1,"is_local":true}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbCluster  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbcluster
#   Get-NlbClusterNode -InputObject <Cluster[]> -NodeName
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
#   Resume-NlbClusterNode -InputObject  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/resume-nlbclusternode
#   Start-NlbClusterNode -InputObject   https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/start-nlbclusternode
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
    if (-not [string]::Equals(($nodeName -split '\.')[0], $localName, [System.StringComparison]::OrdinalIgnoreCase)) {
        $ex = [System.InvalidOperationException]::new("node $nodeName is not this server ($localName): an NLB node is resumed on the node itself")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'RemoteNode', 'InvalidOperation', $nodeName)
    }
    $clusters = @(Get-NlbCluster)
    $mine = @(foreach ($cluster in $clusters) { Get-NlbClusterNode -InputObject $cluster -NodeName $nodeName })
    if ($mine.Count -eq 0) {
        $ex = [System.Management.Automation.ItemNotFoundException]::new("this server has no NLB node named $nodeName")
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'NodeNotFound', 'ObjectNotFound', $nodeName)
    }
    $suspended = @($mine | Where-Object { ([string]$_.State).StartsWith('Suspended') })
    if ($suspended.Count -gt 0) { $null = Resume-NlbClusterNode -InputObject $suspended }
    $mine = @(foreach ($cluster in $clusters) { Get-NlbClusterNode -InputObject $cluster -NodeName $nodeName })
    $idle = @($mine | Where-Object { -not ([string]$_.State).StartsWith('Converg') })
    if ($idle.Count -gt 0) { $null = Start-NlbClusterNode -InputObject $idle }
    $nodes = @(foreach ($cluster in $clusters) {
        foreach ($n in @(Get-NlbClusterNode -InputObject $cluster -NodeName $nodeName)) {
            $interface = [string]$n.InterfaceName
            if (-not $interface) { $interface = [string]$cluster.InterfaceName }
            @{ name = [string]$n.Name; interface_name = $interface; state = [string]$n.State; host_priority = [int]$n.HostPriority; is_local = $true }
        }
    })
    @{ result = @{ nodes = $nodes } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
