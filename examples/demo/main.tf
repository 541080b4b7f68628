# The demo: a laptop, CLIENT1, is reported stolen, and RAS2 goes into a maintenance window. Block the laptop and
# drain RAS2 against the built-in lab (`make demo` starts the lab and writes .lab/info.json with its endpoints and
# credentials); the plan shows the sessions RAS2 carries and the node that will take them.
terraform {
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}

locals {
  lab = jsondecode(file("${path.module}/.lab/info.json"))
}

provider "remoteaccess" {
  servers = local.lab.server_addresses
  # The lab's servers are loopback addresses that DNS cannot name: name each server's computer account, as
  # ADDRESS=NAME, so that blocks never disable it.
  protected_computers = [for s in local.lab.servers : "${s.address}=${s.name}"]

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

resource "remoteaccess_blocked_device" "stolen_laptop" {
  computer_name  = "CLIENT1"
  reason         = "DEMO-1: reported stolen"
  verify_seconds = 5
}

output "blocked" {
  value = {
    account     = remoteaccess_blocked_device.stolen_laptop.distinguished_name
    was_enabled = remoteaccess_blocked_device.stolen_laptop.was_enabled
    identities  = remoteaccess_blocked_device.stolen_laptop.identities
    pending     = remoteaccess_blocked_device.stolen_laptop.pending_servers
    # The provider reports each server as configured (the lab's are loopback addresses); the lab's information
    # names the node behind each address, so the purge is shown by node name as the cluster knows it.
    purged = {
      for s in local.lab.servers : s.name => lookup(remoteaccess_blocked_device.stolen_laptop.purged, s.address, null)
    }
  }
  # The demo checks itself: an apply that purged nothing, or left a server pending, fails here.
  precondition {
    condition     = length(remoteaccess_blocked_device.stolen_laptop.pending_servers) == 0
    error_message = "The block is pending on ${join(", ", remoteaccess_blocked_device.stolen_laptop.pending_servers)}."
  }
  precondition {
    condition     = sum(concat([0], [for p in values(remoteaccess_blocked_device.stolen_laptop.purged) : p.main_mode_sas])) > 0
    error_message = "The block purged no main-mode SA of CLIENT1, which the lab connects through RAS1."
  }
}

# The maintenance window: RAS2's DirectAccess and VPN clients move to RAS1; destroy puts RAS2 back into rotation.
resource "remoteaccess_node_drain" "maintenance" {
  node          = "RAS2"
  drain_timeout = "5s"
}

output "drained" {
  value = {
    node              = remoteaccess_node_drain.maintenance.id
    state_before      = remoteaccess_node_drain.maintenance.load_balancer_state_before
    state_after       = remoteaccess_node_drain.maintenance.load_balancer_state_after
    sessions_at_start = remoteaccess_node_drain.maintenance.sessions_at_start
    sessions_at_end   = remoteaccess_node_drain.maintenance.sessions_at_end
  }
  precondition {
    condition     = remoteaccess_node_drain.maintenance.sessions_at_start > 0 && remoteaccess_node_drain.maintenance.sessions_at_end == 0
    error_message = "RAS2 went from ${remoteaccess_node_drain.maintenance.sessions_at_start} to ${remoteaccess_node_drain.maintenance.sessions_at_end} sessions: the drain moved nothing or left some."
  }
}
