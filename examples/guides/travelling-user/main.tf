# A travelling user, blocked for a trip and unblocked on return. Each trip is an entry with its dates; a scheduled
# pipeline runs `terraform apply` every hour: the block is created when the trip starts and destroyed (the account
# enabled again, as it was) when it ends. The trip's entry is reviewed like any change, and can be deleted after the
# return.
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

  winrm {
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    username       = "CORP\\svc-remoteaccess"
  }

  ldap {
    urls                 = ["ldaps://dc1.corp.example"]
    ca_certificate       = file("${path.module}/corp-root-ca.pem")
    bind_username        = "svc-remoteaccess@corp.example"
    allowed_search_bases = ["OU=Staff,DC=corp,DC=example"]
  }
}

variable "trips" {
  description = "User name => the trip: from and until in RFC 3339 (UTC), and the approval."
  type = map(object({
    from   = string
    until  = string
    ticket = string
  }))
  default = {
    "alice" = { from = "2026-12-01T00:00:00Z", until = "2026-12-15T00:00:00Z", ticket = "TRAVEL-118" }
  }

  validation {
    condition     = alltrue([for t in var.trips : timecmp(t.from, t.until) < 0])
    error_message = "Every trip must end after it starts."
  }
}

locals {
  # The trips under way when the plan is made: plantimestamp() is the time of the plan.
  travelling = {
    for user, t in var.trips : user => t
    if timecmp(plantimestamp(), t.from) >= 0 && timecmp(plantimestamp(), t.until) < 0
  }
}

resource "remoteaccess_blocked_user" "travelling" {
  for_each = local.travelling

  user_name = each.key
  ticket    = each.value.ticket
  reason    = "travelling until ${each.value.until}"
}

output "blocked_while_travelling" {
  value = keys(remoteaccess_blocked_user.travelling)
}
