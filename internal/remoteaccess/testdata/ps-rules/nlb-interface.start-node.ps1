# remoteaccess-script: fixture/v1
# a resume of one NLB cluster of the host only
$null = Start-NlbClusterNode
