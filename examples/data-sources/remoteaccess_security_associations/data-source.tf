# The IPsec SAs of one device on every server, by its exact identities from the directory.
data "remoteaccess_device" "laptop" {
  computer_name = "CLIENT1"
}

data "remoteaccess_security_associations" "laptop" {
  identities = data.remoteaccess_device.laptop.identities
}

output "laptop_tunnels" {
  value = {
    for sa in data.remoteaccess_security_associations.laptop.security_associations :
    "${sa.server}/${sa.name}" => "${sa.remote_second_id} (${sa.quick_mode_count} quick-mode SAs)"
  }
}
