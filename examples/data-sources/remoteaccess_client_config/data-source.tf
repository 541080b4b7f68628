# Show reviewers which servers and directories a plan will touch, after environment fallbacks.
data "remoteaccess_client_config" "current" {}

output "remote_access_servers" {
  value = data.remoteaccess_client_config.current.servers
}
