# remoteaccess-script: get-nodes/v1
#
# Lists every node of the NLB cluster this server belongs to; is_local marks the server that answered.
# Input:  {}
# Output: {"result":{"nodes":[{"name":"RAS1","state":"Converged","host_priority":1,"is_local":true}]}}
# Microsoft documentation of the cmdlets used:
#   Get-NlbClusterNode  https://learn.microsoft.com/powershell/module/networkloadbalancingclusters/get-nlbclusternode
#     (Name, State: Converged, Draining, Stopped, Suspended, HostPriority)
param([string]$InputJson)
$ErrorActionPreference = 'Stop'
try {
    $nodes = @(foreach ($n in @(Get-NlbClusterNode)) {
        @{
            name          = [string]$n.Name
            state         = [string]$n.State
            host_priority = [int]$n.HostPriority
            is_local      = [string]::Equals([string]$n.Name, $env:COMPUTERNAME, [System.StringComparison]::OrdinalIgnoreCase)
        }
    })
    @{ result = @{ nodes = $nodes } } | ConvertTo-Json -Compress -Depth 8
} catch {
    $err = @{ category = [string]$_.CategoryInfo.Category; message = [string]$_.Exception.Message; target = [string]$_.TargetObject }
    @{ error = $err } | ConvertTo-Json -Compress -Depth 8
    exit 1
}
