package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/datasource"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
)

// remoteaccess_device: a computer account in Active Directory (see accountDataSource).
func newDeviceDataSource() datasource.DataSource {
	return &accountDataSource{kind: accountKind{
		typeSuffix: "device",
		kind:       directory.KindComputer,
		description: "A computer account in Active Directory: whether it is enabled or blocked, its names, groups and " +
			"the identities under which it connects.",
		nameAttr:         "computer_name",
		nameDescription:  "The computer's name: its sAMAccountName without the trailing `$` (`CLIENT1`).",
		extraAttr:        "dns_host_name",
		extraDescription: "dNSHostName of the computer; null when it was never joined.",
		extra:            func(a directory.Account) string { return a.DNSHostName },
	}}
}
