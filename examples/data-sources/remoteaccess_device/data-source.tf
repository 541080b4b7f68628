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

# Its remote-access certificates at the provider's certificate_authorities: serial, template, expiry and whether each
# is issued, held (certificateHold: reversible) or revoked for good. The Workstation certificate the office's 802.1X
# uses is not listed because its template is not named.
data "remoteaccess_device" "aovpn_laptop" {
  computer_name         = "CLIENT2"
  certificate_templates = ["AOVPNDeviceTunnel", "DirectAccess"]
}

output "aovpn_laptop_certificates" {
  value = data.remoteaccess_device.aovpn_laptop.certificates
}
