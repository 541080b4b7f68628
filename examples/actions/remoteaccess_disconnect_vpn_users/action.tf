# Disconnect two users' VPN connections on every server (Terraform 1.14 and later), either on demand:
#   terraform apply -invoke action.remoteaccess_disconnect_vpn_users.offboarding
# or when a resource changes, as below.
action "remoteaccess_disconnect_vpn_users" "offboarding" {
  config {
    user_names = ["CORP\\mallory", "trent@corp.example"]
  }
}

# Or the connection holding one tunnel address, on one server only.
action "remoteaccess_disconnect_vpn_users" "one_tunnel" {
  config {
    host_ip_addresses = ["10.10.0.11"]
    servers           = ["ras2.corp.example"]
  }
}

resource "terraform_data" "offboarding_ticket" {
  input = "HR-1187"

  lifecycle {
    action_trigger {
      events  = [after_create, after_update]
      actions = [action.remoteaccess_disconnect_vpn_users.offboarding]
    }
  }
}
