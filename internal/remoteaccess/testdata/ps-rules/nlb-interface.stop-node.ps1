# remoteaccess-script: fixture/v1
# a drain of one NLB cluster of the host only
$null = Stop-NlbClusterNode -Drain -Timeout 10
