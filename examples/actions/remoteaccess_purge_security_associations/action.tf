# Purge one device's IPsec SAs on every server, by its exact identities (Terraform 1.14 and later):
#   terraform apply -invoke action.remoteaccess_purge_security_associations.laptop
data "remoteaccess_device" "laptop" {
  computer_name = "CLIENT1"
}

action "remoteaccess_purge_security_associations" "laptop" {
  config {
    identities = data.remoteaccess_device.laptop.identities
  }
}

# Or every SA of one server, so that its DirectAccess clients connect again through the other nodes.
action "remoteaccess_purge_security_associations" "ras1" {
  config {
    all_on_server = "ras1.corp.example"
  }
}
