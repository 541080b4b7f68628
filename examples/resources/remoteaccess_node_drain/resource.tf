# Take RAS2 out of rotation: NLB drains it on the node itself for up to two minutes, then the remaining DirectAccess
# and VPN sessions are ended so that their clients reconnect through the other nodes. The plan shows who is
# connected to RAS2 now and which nodes will take them, and refuses to drain the last node in rotation.
resource "remoteaccess_node_drain" "ras2" {
  node          = "RAS2"
  drain_timeout = "2m"

  timeouts {
    create = "15m"
    delete = "10m"
  }
}
