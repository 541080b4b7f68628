# The first plan against new servers: is everything the provider relies on there? Each server gets a verdict
# (ready, warnings, not_ready) and, for each assumption that does not hold, the command that fixes it.
data "remoteaccess_servers" "this" {}

output "verdicts" {
  value = { for s in data.remoteaccess_servers.this.readiness : s.server => s.verdict }
}

output "fixes" {
  value = {
    for s in data.remoteaccess_servers.this.readiness :
    s.server => [for f in s.findings : "${f.severity}: ${f.assumption}: ${f.fix}"]
  }
}

# Stop the plan here when a server is not ready: every resource's plan would refuse it anyway.
check "servers_ready" {
  assert {
    condition     = length(data.remoteaccess_servers.this.not_ready_servers) == 0
    error_message = "Not ready: ${join(", ", data.remoteaccess_servers.this.not_ready_servers)}"
  }
}
