# Who is connected: every connection of every Remote Access server, summed up per node, per type and per user.
#
#   terraform init && terraform apply -auto-approve && terraform output
#
# Nothing is changed: only data sources are read. A server that does not answer is listed in `unreachable_servers`
# instead of failing the run.
# Put corp-root-ca.pem, the root certificate of the servers' and domain controllers' CA, next to this file.
terraform {
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}

provider "remoteaccess" {
  servers = ["ras1.corp.example", "ras2.corp.example"]

  winrm {
    ca_certificate = file("corp-root-ca.pem")
    username       = "CORP\\svc-remoteaccess"
  }

  ldap {
    urls           = ["ldaps://dc1.corp.example"]
    ca_certificate = file("corp-root-ca.pem")
    bind_username  = "svc-remoteaccess@corp.example"
  }
}

data "remoteaccess_connections" "all" {
  tolerate_unreachable_servers = true
}

data "remoteaccess_cluster" "this" {
  tolerate_unreachable_servers = true
}

locals {
  connections = data.remoteaccess_connections.all.connections
}

output "per_node" {
  value = {
    for n in data.remoteaccess_cluster.this.nodes :
    n.name => {
      state        = n.state
      in_rotation  = n.in_rotation
      directaccess = n.directaccess_connections
      vpn          = n.vpn_connections
    }
  }
}

output "users" {
  value = sort(distinct(flatten(local.connections[*].user_names)))
}

output "directaccess_computers" {
  value = sort(distinct([for c in local.connections : c.host_name if c.connection_type == "DirectAccess"]))
}

output "vpn_connections" {
  value = [
    for c in local.connections : "${join(", ", c.user_names)} via ${c.server} (${c.tunnel_type}, tunnel ${c.client_ip_address}, since ${c.connection_start_time})"
    if c.connection_type == "Vpn"
  ]
}

output "unreachable_servers" {
  value = data.remoteaccess_connections.all.missing_servers
}
