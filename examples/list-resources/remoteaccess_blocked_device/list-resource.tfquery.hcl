# In a .tfquery.hcl file: list the disabled computer accounts of the laptops' OU, which blocks made by hand leave
# behind (Terraform 1.14 and later). `terraform query -generate-config-out=blocks.tf` writes a resource and an
# import block for each, to review before a plan adopts them (importing changes nothing).
list "remoteaccess_blocked_device" "laptops" {
  provider = remoteaccess
  config {
    base = "OU=Laptops,DC=corp,DC=example"
  }
}
