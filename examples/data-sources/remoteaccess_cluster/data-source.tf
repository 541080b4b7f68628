# The NLB nodes, whether each takes new connections, and how many it carries. A node that does not answer is left
# out of the counts instead of failing the plan.
data "remoteaccess_cluster" "this" {
  tolerate_unreachable_servers = true
}

output "nodes" {
  value = {
    for n in data.remoteaccess_cluster.this.nodes :
    n.name => "${n.state}, ${n.in_rotation ? "in rotation" : "out of rotation"}, ${coalesce(n.connections, -1)} connections"
  }
}

output "unreachable" {
  value = data.remoteaccess_cluster.this.missing_servers
}
