# Emergency device blocks, reviewed as pull requests. A lost or stolen device is one line in lost_devices: the
# pull request's plan shows, as a warning, the account that will be disabled and the sessions it has on every
# Remote Access server now; the reviewer approves, the pipeline applies. Deleting the line (the device is found)
# re-enables the account, as it was before the block.
# Put corp-root-ca.pem, the root certificate of the servers' and domain controllers' CA, next to this file.
terraform {
  required_version = ">= 1.8"
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}

# Passwords come from the pipeline's secrets: REMOTEACCESS_WINRM_PASSWORD and REMOTEACCESS_LDAP_BIND_PASSWORD.
provider "remoteaccess" {
  servers = ["ras1.corp.example", "ras2.corp.example"]

  winrm {
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    username       = "CORP\\svc-remoteaccess"
  }

  ldap {
    urls           = ["ldaps://dc1.corp.example", "ldaps://dc2.corp.example"]
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    bind_username  = "svc-remoteaccess@corp.example"
    # Devices live here and nowhere else: a typo can never disable a server or an account elsewhere.
    allowed_search_bases = ["OU=Laptops,DC=corp,DC=example"]
    # The block counts as done when both controllers show it.
    domain_controllers = ["ldaps://dc1.corp.example", "ldaps://dc2.corp.example"]
  }
}

variable "lost_devices" {
  description = "Computer name => incident ticket and reason. One line per lost or stolen device."
  type = map(object({
    ticket = string
    reason = string
  }))
  default = {
    "LAPTOP-0042" = { ticket = "INC-20931", reason = "stolen from a car, reported by the owner" }
  }
}

resource "remoteaccess_blocked_device" "lost" {
  for_each = var.lost_devices

  computer_name = each.key
  ticket        = each.value.ticket
  reason        = each.value.reason
  # Watch the servers for a minute after the purge: an SA that comes back is named and the block stays pending.
  verify_seconds = 60
}

output "blocked_devices" {
  value = {
    for name, b in remoteaccess_blocked_device.lost : name => {
      account = b.distinguished_name
      pending = b.pending_servers
    }
  }
}
