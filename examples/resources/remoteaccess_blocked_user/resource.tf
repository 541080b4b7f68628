# A user who left the company: disable the account, disconnect its VPN connections and purge its DirectAccess
# intranet tunnels on every Remote Access server.
resource "remoteaccess_blocked_user" "mallory" {
  user_name = "mallory"
  reason    = "HR-1187: contract ended"
}
