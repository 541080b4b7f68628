# A computer account: enabled or blocked, where it sits, and the identities it connects with.
data "remoteaccess_device" "laptop" {
  computer_name = "CLIENT1"
}

output "laptop" {
  value = {
    dn         = data.remoteaccess_device.laptop.distinguished_name
    blocked    = data.remoteaccess_device.laptop.blocked
    groups     = data.remoteaccess_device.laptop.member_of
    identities = data.remoteaccess_device.laptop.identities
  }
}
