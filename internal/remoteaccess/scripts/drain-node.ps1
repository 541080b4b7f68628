# remoteaccess-script: drain-node/v1
#
# Drains one NLB node: it stops taking new connections, keeps serving the existing ones, and stops when they are gone
# or when timeout_minutes have passed (connections left then are dropped). Reports the node's state afterwards,
# which is Draining or Stopped; callers poll get-nodes for the end of the drain.
# Input:  {"node_name":"RAS1","timeout_minutes":10}
# Output: {"result":{"node":{"name":"RAS1","state":"Draining","host_priority":1,"is_local":true}}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbClusterNode -NodeName   https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
#   Stop-NlbClusterNode -InputObject -Drain -Timeout <minutes>
#     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/stop-nlbclusternode
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $in = ConvertFrom-Json -InputObject $InputJson
    $nodeName = [string]$in.node_name
    $timeout = [uint32]$in.timeout_minutes
    if (-not $nodeName) {
        $ex = [System.ArgumentException]::new('node_name must be given')
        throw [System.Management.Automation.ErrorRecord]::new($ex, 'EmptyNodeName', 'InvalidArgument', 'node_name')
    }
    $null = Stop-NlbClusterNode -InputObject (Get-NlbClusterNode -NodeName $nodeName) -Drain -Timeout $timeout
    $n = Get-NlbClusterNode -NodeName $nodeName
    $node = @{
        name          = [string]$n.Name
        state         = [string]$n.State
        host_priority = [int]$n.HostPriority
        is_local      = [string]::Equals([string]$n.Name, $env:COMPUTERNAME, [System.StringComparison]::OrdinalIgnoreCase)
    }
    @{ result = @{ node = $node } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
