# remoteaccess-script: fixture/v1
# the node objects of one NLB cluster of the host only
foreach ($cluster in @(Get-NlbCluster)) {
    Get-NlbClusterNode -InputObject $cluster -NodeName RAS1
}
