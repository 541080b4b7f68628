# remoteaccess-script: resume-node/v1
#
# Brings one NLB node back into the cluster after a drain or a suspension: a Suspended node is resumed first
# (which leaves it Stopped), then a node that is not Converged is started.
# Input:  {"node_name":"RAS1"}
# Output: {"result":{"node":{"name":"RAS1","state":"Converged","host_priority":1,"is_local":true}}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbClusterNode -NodeName     https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
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
    $n = Get-NlbClusterNode -NodeName $nodeName
    if ([string]$n.State -eq 'Suspended') {
        $null = Resume-NlbClusterNode -InputObject $n
        $n = Get-NlbClusterNode -NodeName $nodeName
    }
    if ([string]$n.State -ne 'Converged') {
        $null = Start-NlbClusterNode -InputObject $n
        $n = Get-NlbClusterNode -NodeName $nodeName
    }
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
