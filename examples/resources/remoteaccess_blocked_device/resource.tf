# A laptop reported stolen: disable its computer account and purge its DirectAccess and VPN sessions on every
# Remote Access server. Reviewers see the reason in the plan; destroying the block re-enables the account.
resource "remoteaccess_blocked_device" "laptop_0042" {
  computer_name = "LAPTOP-0042"
  reason        = "INC-20931: reported stolen at the airport"

  # Watch every server for a minute and fail, naming the server, if the laptop's SAs come back.
  verify_seconds = 60

  timeouts {
    create = "5m"
  }
}
