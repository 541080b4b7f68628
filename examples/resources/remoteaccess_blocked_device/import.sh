# Import a block made by hand, by computer name or by objectGUID. Importing changes nothing; the next apply records
# the block and purges the device's sessions on every server; destroying an imported block leaves the account
# disabled, because the provider did not disable it.
terraform import remoteaccess_blocked_device.laptop_0042 LAPTOP-0042
terraform import remoteaccess_blocked_device.laptop_0042 3f2504e0-4f89-11d3-9a0c-0305e82c3301
# A block of this configuration that left the state: take over its hold (hold_id) so that destroy lifts it.
terraform import remoteaccess_blocked_device.laptop_0042 'LAPTOP-0042;hold=3f9a1c2e5b7d9a0c'
