# The first plan: read-only. It logs on to every Remote Access server, asks each whether what the provider relies on
# holds there (remoteaccess_servers), and reads the NLB nodes and the connections; it changes nothing. Passwords come from REMOTEACCESS_WINRM_PASSWORD and REMOTEACCESS_LDAP_BIND_PASSWORD.
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
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    username       = "CORP\\svc-remoteaccess"
  }

  ldap {
    urls           = ["ldaps://dc1.corp.example"]
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    bind_username  = "svc-remoteaccess@corp.example"
  }
}

data "remoteaccess_servers" "this" {}
data "remoteaccess_cluster" "this" {}
data "remoteaccess_connections" "all" {}

# Per server: ready, warnings or not_ready, and the fix for each assumption that does not hold.
output "readiness" {
  value = {
    for s in data.remoteaccess_servers.this.readiness :
    s.server => concat([s.verdict], [for f in s.findings : "${f.severity}: ${f.assumption}. Fix: ${f.fix}"])
  }
}

output "nodes" {
  value = { for n in data.remoteaccess_cluster.this.nodes : n.name => "${n.state}, ${coalesce(n.connections, 0)} connections" }
}

output "connections" {
  value = length(data.remoteaccess_connections.all.connections)
}
