# A user account by user principal name (or sAMAccountName).
data "remoteaccess_user" "alice" {
  user_name = "alice@corp.example"
}

output "alice_may_connect" {
  value = data.remoteaccess_user.alice.enabled
}
