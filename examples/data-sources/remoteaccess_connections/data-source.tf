# Everybody connected through any Remote Access server, and one user's connections in whatever form the servers
# print the name (CORP\alice, corp.example\alice).
data "remoteaccess_connections" "all" {}

data "remoteaccess_connections" "alice" {
  user_name = "alice"
}

output "alice_is_connected_through" {
  value = distinct(data.remoteaccess_connections.alice.connections[*].server)
}
