# The demo: a laptop, CLIENT1, is reported stolen, RAS2 goes into a maintenance window, and an Always On VPN laptop,
# CLIENT2, is lost. Block the stolen laptop, drain RAS2 and hold the lost laptop's certificates against the built-in
# lab (`make demo` starts the lab, with every server enforcing revocation, and writes .lab/info.json with its
# endpoints and credentials); the plan shows the sessions RAS2 carries, the node that will take them, and the
# certificates the hold takes.
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
  # The enterprise CA that issued the devices' certificates, reached through a Remote Access server.
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

# The lost Always On VPN laptop: its device tunnel authenticates with its certificate alone, so disabling its
# computer account would not keep it out. A remote-access-only block (the account stays enabled: nothing else of the
# office breaks) puts its remote-access certificates on hold, publishes the CRL, flushes every server's revocation
# cache and purges it; the servers enforce revocation, so the tunnel does not come back. Destroying the block takes
# the certificates off hold, and the laptop reconnects.
resource "remoteaccess_blocked_device" "lost_aovpn_laptop" {
  computer_name   = "CLIENT2"
  reason          = "DEMO-2: Always On VPN laptop lost"
  disable_account = false
  verify_seconds  = 5
  certificate_hold = {
    templates                      = ["AOVPNDeviceTunnel", "DirectAccess"]
    require_revocation_enforcement = true
  }
  # After the drain, whose count of RAS2's sessions at its start includes this laptop's device tunnel.
  depends_on = [remoteaccess_node_drain.maintenance]
}

output "held" {
  value = {
    account_enabled = remoteaccess_blocked_device.lost_aovpn_laptop.account_enabled
    certificates    = [for c in remoteaccess_blocked_device.lost_aovpn_laptop.held_certificates : "${c.template} ${c.serial}"]
    pending         = remoteaccess_blocked_device.lost_aovpn_laptop.pending_servers
  }
  precondition {
    condition     = length(remoteaccess_blocked_device.lost_aovpn_laptop.held_certificates) == 2
    error_message = "The block holds ${length(remoteaccess_blocked_device.lost_aovpn_laptop.held_certificates)} of CLIENT2's certificates, not its device tunnel's and DirectAccess's."
  }
  precondition {
    # A device tunnel that came back within verify_seconds leaves its server pending.
    condition     = length(remoteaccess_blocked_device.lost_aovpn_laptop.pending_servers) == 0 && length(remoteaccess_blocked_device.lost_aovpn_laptop.pending_certificate_authorities) == 0
    error_message = "The hold of CLIENT2 is pending on ${join(", ", concat(remoteaccess_blocked_device.lost_aovpn_laptop.pending_servers, remoteaccess_blocked_device.lost_aovpn_laptop.pending_certificate_authorities))}."
  }
}
