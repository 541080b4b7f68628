package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// remoteaccess_user: a user account in Active Directory (see accountDataSource).
func newUserDataSource() datasource.DataSource {
	return &accountDataSource{kind: accountKind{
		typeSuffix: "user",
		kind:       directory.KindUser,
		description: "A user account in Active Directory: whether it is enabled or blocked, its names, groups and the " +
			"identities under which it connects.",
		nameAttr:         "user_name",
		nameDescription:  "The user's sAMAccountName (`alice`) or user principal name (`alice@corp.example`).",
		extraAttr:        "user_principal_name",
		extraDescription: "userPrincipalName of the user; null when it has none.",
		extra:            func(a directory.Account) string { return a.UserPrincipalName },
	}}
}
