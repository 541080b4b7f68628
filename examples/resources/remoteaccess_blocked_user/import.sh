# Import by sAMAccountName, user principal name or objectGUID.
terraform import remoteaccess_blocked_user.mallory mallory
terraform import remoteaccess_blocked_user.mallory mallory@corp.example
# A block of this configuration that left the state: take over its hold (hold_id) so that destroy lifts it.
terraform import remoteaccess_blocked_user.mallory 'mallory;hold=3f9a1c2e5b7d9a0c'
