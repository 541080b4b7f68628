# Remote-access-only blocks: the travelling user loses VPN but keeps working in the office, and the Always On VPN
# laptop that was lost loses its device tunnel and DirectAccess, which a disabled computer account does not stop.
# Each entry is reviewed like any change; destroying it gives back exactly what the block took.
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
  servers = ["ras1.corp.example", "ras2.corp.example"]

  # The enterprise CA that issues the devices' certificates; the WinRM account needs "Issue and Manage
  # Certificates" on it.
  certificate_authorities = [{ config = "ca1.corp.example\\Corp Issuing CA" }]

  winrm {
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    username       = "CORP\\svc-remoteaccess"
  }

  ldap {
    urls                 = ["ldaps://dc1.corp.example"]
    ca_certificate       = file("${path.module}/corp-root-ca.pem")
    bind_username        = "svc-remoteaccess@corp.example"
    allowed_search_bases = ["OU=Staff,DC=corp,DC=example", "OU=Laptops,DC=corp,DC=example"]
  }
}

variable "travelling_users" {
  description = "User name => the approval: VPN denied while they travel, the account stays enabled."
  type        = map(string)
  default     = { "alice" = "TRAVEL-118" }
}

variable "lost_laptops" {
  description = "Computer name => the incident: device tunnel and DirectAccess stopped by a certificate hold."
  type        = map(string)
  default     = { "LAPTOP-0042" = "INC-20931" }
}

variable "require_revocation_enforcement" {
  description = "Refuse the plan when a server does not enforce revocation (the hold would not stop the device there)."
  type        = bool
  default     = true
}

resource "remoteaccess_blocked_user" "travelling" {
  for_each = var.travelling_users

  user_name       = each.key
  ticket          = each.value
  reason          = "travelling: no VPN"
  disable_account = false # the office logon keeps working
  deny_dial_in    = true  # msNPAllowDialin FALSE; restored exactly on destroy
}

resource "remoteaccess_blocked_device" "lost" {
  for_each = var.lost_laptops

  computer_name = each.key
  ticket        = each.value
  reason        = "lost: stop the Always On VPN device tunnel"

  certificate_hold = {
    # Only the remote-access templates: the office's 802.1X certificate keeps working if the laptop is found.
    templates                      = ["AOVPNDeviceTunnel", "DirectAccess"]
    require_revocation_enforcement = var.require_revocation_enforcement
  }
}

output "held_certificates" {
  value = { for name, b in remoteaccess_blocked_device.lost : name => b.held_certificates }
}
