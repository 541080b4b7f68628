terraform {
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}

# Every Remote Access server of the deployment: blocks and disconnects fan out to all of them.
provider "remoteaccess" {
  servers = ["ras1.corp.example", "ras2.corp.example"]

  # The enterprise CA that issues the devices' certificates, reached over WinRM on the CA itself with the winrm
  # settings below (its scripts use the CA's COM interfaces there).
  certificate_authorities = [
    { config = "ca1.corp.example\\Corp Issuing CA" },
  ]

  winrm {
    # HTTPS on 5986 with certificate verification is the default.
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    username       = "CORP\\svc-remoteaccess"
    # Leave the password out of HCL: REMOTEACCESS_WINRM_PASSWORD is read when it is not set here.
  }

  ldap {
    # Tried in order: the second domain controller is the failover.
    urls           = ["ldaps://dc1.corp.example", "ldaps://dc2.corp.example"]
    ca_certificate = file("${path.module}/corp-root-ca.pem")
    bind_username  = "svc-remoteaccess@corp.example"
    # REMOTEACCESS_LDAP_BIND_PASSWORD supplies bind_password.

    # A block counts as done once both controllers show the disabled account.
    domain_controllers   = ["ldaps://dc1.corp.example", "ldaps://dc2.corp.example"]
    # Block writes go to the PDC emulator, found by itself; every configuration of the domain writes there.
    # write_url = "ldaps://dc1.corp.example"
    allowed_search_bases = ["OU=Workstations,DC=corp,DC=example", "OU=Staff,DC=corp,DC=example"]
  }
}
