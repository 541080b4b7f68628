# What the demo shows at each step, read back from the lab rather than taken from the apply's word: CLIENT1's
# account as the directory holds it, CLIENT1's connections, the cluster's nodes, and CLIENT2's certificates, account
# and device tunnel. `make demo` applies this
# configuration (it only reads) before the block, after it and after the destroy, with `expect` naming the step;
# an output whose precondition fails stops the demo with an error.
terraform {
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}

variable "expect" {
  description = "The step the demo is at: before, blocked or after."
  type        = string
  validation {
    condition     = contains(["before", "blocked", "after"], var.expect)
    error_message = "expect must be before, blocked or after."
  }
}

locals {
  lab = jsondecode(file("${path.module}/../.lab/info.json"))
}

provider "remoteaccess" {
  servers                 = local.lab.server_addresses
  protected_computers     = [for s in local.lab.servers : "${s.address}=${s.name}"]
  certificate_authorities = [{ config = local.lab.certificate_authority, host = local.lab.server_addresses[0] }]

  winrm {
    port           = local.lab.winrm_port
    ca_certificate = local.lab.ca_certificate_pem
    username       = local.lab.winrm_username
    password       = local.lab.winrm_password
  }

  ldap {
    urls           = [local.lab.ldaps_url]
    ca_certificate = local.lab.ca_certificate_pem
    bind_username  = local.lab.ldap_bind_username
    bind_password  = local.lab.ldap_bind_password
  }
}

# CLIENT1's computer account, read from the directory.
data "remoteaccess_device" "laptop" {
  computer_name = "CLIENT1"
}

# CLIENT1's DirectAccess and VPN connections on every server.
data "remoteaccess_connections" "laptop" {
  host_name = "CLIENT1"
}

# The NLB nodes: in rotation or not, and the connections each carries.
data "remoteaccess_cluster" "this" {}

locals {
  # The provider names each server as configured (the lab's are loopback addresses); the lab's information names
  # the node behind each address.
  node_of = { for s in local.lab.servers : s.address => s.name }
  nodes   = { for n in data.remoteaccess_cluster.this.nodes : n.name => n }
}

output "client1_account" {
  value = {
    enabled = data.remoteaccess_device.laptop.enabled
    blocked = data.remoteaccess_device.laptop.blocked
  }
  precondition {
    condition     = data.remoteaccess_device.laptop.enabled == (var.expect != "blocked")
    error_message = "CLIENT1's account is ${data.remoteaccess_device.laptop.enabled ? "enabled" : "disabled"} in the directory at step ${var.expect}."
  }
  precondition {
    condition     = data.remoteaccess_device.laptop.blocked == (var.expect == "blocked")
    error_message = "CLIENT1 is ${data.remoteaccess_device.laptop.blocked ? "" : "not "}blocked at step ${var.expect}."
  }
}

output "client1_connected_through" {
  value = sort(distinct([for c in data.remoteaccess_connections.laptop.connections : local.node_of[c.server]]))
  precondition {
    # After the destroy CLIENT1 may or may not have reconnected yet: only the first two steps are certain.
    condition = (var.expect == "after" ||
    (length(data.remoteaccess_connections.laptop.connections) > 0) == (var.expect == "before"))
    error_message = "CLIENT1 has ${length(data.remoteaccess_connections.laptop.connections)} connections at step ${var.expect}."
  }
}

output "nodes" {
  value = {
    for name, n in local.nodes : name => "${n.state}, ${n.in_rotation ? "in rotation" : "out of rotation"}, ${coalesce(n.connections, -1)} connections"
  }
  precondition {
    condition     = local.nodes["RAS2"].in_rotation == (var.expect != "blocked")
    error_message = "RAS2 is ${local.nodes["RAS2"].in_rotation ? "in" : "out of"} rotation at step ${var.expect}."
  }
  precondition {
    condition     = var.expect != "blocked" || local.nodes["RAS2"].connections == 0
    error_message = "RAS2 still carries ${coalesce(local.nodes["RAS2"].connections, -1)} connections after the drain."
  }
  precondition {
    condition     = var.expect != "before" || local.nodes["RAS2"].connections > 0
    error_message = "RAS2 carries no connection before the drain: the drain would show nothing."
  }
}

# CLIENT2, the lost Always On VPN laptop: its account, its remote-access certificates at the CA, its device tunnel.
data "remoteaccess_device" "aovpn_laptop" {
  computer_name         = "CLIENT2"
  certificate_templates = ["AOVPNDeviceTunnel", "DirectAccess"]
}

data "remoteaccess_connections" "aovpn_laptop" {
  host_name       = "CLIENT2"
  connection_type = "Vpn"
}

locals {
  held = alltrue([for c in data.remoteaccess_device.aovpn_laptop.certificates : c.state == "held"])
  # After the destroy the device tunnel comes back within moments: the demo observes this step until it has.
  tunnel_up = length(data.remoteaccess_connections.aovpn_laptop.connections) > 0
}

output "client2_aovpn" {
  value = {
    enabled       = data.remoteaccess_device.aovpn_laptop.enabled
    certificates  = [for c in data.remoteaccess_device.aovpn_laptop.certificates : "${c.template} ${c.state}"]
    device_tunnel = local.tunnel_up ? "up through ${join(", ", sort([for c in data.remoteaccess_connections.aovpn_laptop.connections : local.node_of[c.server]]))}" : "down"
  }
  precondition {
    condition     = data.remoteaccess_device.aovpn_laptop.enabled
    error_message = "CLIENT2's account is disabled at step ${var.expect}: a remote-access-only block never disables it."
  }
  precondition {
    condition = (length(data.remoteaccess_device.aovpn_laptop.certificates) == 2 &&
    (var.expect == "blocked" ? local.held : alltrue([for c in data.remoteaccess_device.aovpn_laptop.certificates : c.state == "issued"])))
    error_message = "CLIENT2's certificates are ${join(", ", [for c in data.remoteaccess_device.aovpn_laptop.certificates : c.state])} at step ${var.expect}."
  }
  precondition {
    condition     = local.tunnel_up == (var.expect != "blocked")
    error_message = "CLIENT2's device tunnel is ${local.tunnel_up ? "up" : "down"} at step ${var.expect}."
  }
}
