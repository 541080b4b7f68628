# Import by sAMAccountName, user principal name or objectGUID.
terraform import remoteaccess_blocked_user.mallory mallory
terraform import remoteaccess_blocked_user.mallory mallory@corp.example
