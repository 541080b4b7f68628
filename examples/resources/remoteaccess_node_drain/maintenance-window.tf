# A maintenance window on RAS1, reviewed like any other change.
#
#   before the window:  terraform apply  -var maintenance=true   # drains RAS1, clients move to the other nodes
#   after the window:   terraform apply  -var maintenance=false  # RAS1 is resumed and waits until it converged
#
# (terraform destroy -target=remoteaccess_node_drain.window[0] ends the window as well.)
variable "maintenance" {
  type    = bool
  default = false
}

resource "remoteaccess_node_drain" "window" {
  count = var.maintenance ? 1 : 0

  node          = "RAS1"
  drain_timeout = "5m"

  # Keep at least two nodes serving clients in a cluster of four.
  min_nodes_in_rotation = 2
}

# Behind a hardware balancer: remove RAS3 from its pool first, then apply; the resource ends RAS3's sessions and
# checks that no new ones arrive. Destroying it reminds you to put RAS3 back into the pool.
resource "remoteaccess_node_drain" "behind_appliance" {
  count = var.maintenance ? 1 : 0

  node          = "RAS3"
  load_balancer = "external"
  drain_timeout = "10m"
}
