# The first plan: read-only. It logs on to every Remote Access server and reads the NLB nodes and the connections;
# it changes nothing. Passwords come from REMOTEACCESS_WINRM_PASSWORD and REMOTEACCESS_LDAP_BIND_PASSWORD.
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

data "remoteaccess_cluster" "this" {}
data "remoteaccess_connections" "all" {}

output "nodes" {
  value = { for n in data.remoteaccess_cluster.this.nodes : n.name => "${n.state}, ${coalesce(n.connections, 0)} connections" }
}

output "connections" {
  value = length(data.remoteaccess_connections.all.connections)
}
