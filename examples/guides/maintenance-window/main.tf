# A maintenance window run by a CI pipeline (pipeline.sh next to this file): apply drains the node, the pipeline
# patches it, destroy puts it back into rotation. The node is a variable so that one configuration serves every
# window; each window has its own state (workspace), so that two windows never share one.
# Put corp-root-ca.pem, the root certificate of the servers' and domain controllers' CA, next to this file.
terraform {
  required_version = ">= 1.8"
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}

provider "remoteaccess" {
  servers = ["ras1.corp.example", "ras2.corp.example", "ras3.corp.example"]

  winrm {
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    username       = "CORP\\svc-remoteaccess"
  }
}

variable "node" {
  description = "The NLB node to take out of rotation, as Get-NlbClusterNode names it."
  type        = string
}

variable "min_nodes_in_rotation" {
  description = "How many nodes must keep taking connections during the window: 2 in this cluster of three."
  type        = number
  default     = 2
}

resource "remoteaccess_node_drain" "window" {
  node = var.node
  # NLB lets existing connections finish for up to five minutes, then the rest are ended: their clients reconnect
  # through the other nodes.
  drain_timeout = "5m"
  # The plan refuses a drain that would leave fewer nodes serving than this.
  min_nodes_in_rotation = var.min_nodes_in_rotation

  timeouts {
    create = "20m"
    delete = "15m"
  }
}

output "drained" {
  value = {
    node              = remoteaccess_node_drain.window.node
    drained           = remoteaccess_node_drain.window.drained
    sessions_at_start = remoteaccess_node_drain.window.sessions_at_start
    sessions_at_end   = remoteaccess_node_drain.window.sessions_at_end
  }
}
