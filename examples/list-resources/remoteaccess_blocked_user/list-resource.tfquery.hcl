# In a .tfquery.hcl file: list the disabled user accounts of the domain (Terraform 1.14 and later), with their
# attributes. `terraform query -generate-config-out=blocks.tf` writes a resource and an import block for each, to
# review before a plan adopts them (importing changes nothing).
list "remoteaccess_blocked_user" "disabled" {
  provider         = remoteaccess
  include_resource = true
}
