package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// providerModel mirrors the provider block. Defaults and environment fallbacks are applied by resolveSettings,
// because provider schemas cannot carry defaults.
type providerModel struct {
	Servers            types.List  `tfsdk:"servers"`
	ProtectedComputers types.List  `tfsdk:"protected_computers"`
	WinRM              *winrmModel `tfsdk:"winrm"`
	LDAP               *ldapModel  `tfsdk:"ldap"`
	// CertificateAuthorities: certificate_authorities.go.
	CertificateAuthorities types.List `tfsdk:"certificate_authorities"`
}

type winrmModel struct {
	Port                    types.Int64    `tfsdk:"port"`
	UseHTTPS                types.Bool     `tfsdk:"use_https"`
	Insecure                types.Bool     `tfsdk:"insecure"`
	CACertificate           types.String   `tfsdk:"ca_certificate"`
	TLSServerName           types.String   `tfsdk:"tls_server_name"`
	Username                types.String   `tfsdk:"username"`
	Password                types.String   `tfsdk:"password"`
	Auth                    types.String   `tfsdk:"auth"`
	Kerberos                *kerberosModel `tfsdk:"kerberos"`
	Timeout                 types.String   `tfsdk:"timeout"`
	MaxConcurrencyPerServer types.Int64    `tfsdk:"max_concurrency_per_server"`
}

type ldapModel struct {
	URLs               types.List     `tfsdk:"urls"`
	StartTLS           types.Bool     `tfsdk:"start_tls"`
	CACertificate      types.String   `tfsdk:"ca_certificate"`
	Insecure           types.Bool     `tfsdk:"insecure"`
	BindUsername       types.String   `tfsdk:"bind_username"`
	BindPassword       types.String   `tfsdk:"bind_password"`
	BaseDN             types.String   `tfsdk:"base_dn"`
	Kerberos           *kerberosModel `tfsdk:"kerberos"`
	DomainControllers  types.List     `tfsdk:"domain_controllers"`
	WriteURL           types.String   `tfsdk:"write_url"`
	AllowedSearchBases types.List     `tfsdk:"allowed_search_bases"`
	AllowPlaintext     types.Bool     `tfsdk:"allow_plaintext"`
	Timeout            types.String   `tfsdk:"timeout"`
	RecordBlocks       types.Bool     `tfsdk:"record_blocks"`
}

type kerberosModel struct {
	Realm    types.String `tfsdk:"realm"`
	Krb5Conf types.String `tfsdk:"krb5_conf"`
	Keytab   types.String `tfsdk:"keytab"`
	SPN      types.String `tfsdk:"spn"`
}

// envNote documents an attribute's environment fallback in its description.
func envNote(description, env string) string {
	return fmt.Sprintf("%s May be set with the `%s` environment variable.", description, env)
}

// envListNote documents the environment fallback of a list attribute.
func envListNote(description, env string) string {
	return fmt.Sprintf("%s May be set with the `%s` environment variable, as a comma-separated list.", description, env)
}

func providerSchema() schema.Schema {
	return schema.Schema{
		MarkdownDescription: "Manages Windows Server Remote Access (DirectAccess and Always On VPN): blocks lost devices " +
			"and users, drains cluster nodes and lists sessions. The provider reaches the Remote Access servers over WinRM " +
			"and Active Directory over LDAP.",
		Attributes: map[string]schema.Attribute{
			"servers": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: envListNote("Host names or addresses of every Remote Access server that blocks and "+
					"session operations fan out to. Resources may override it. The computer accounts of these servers are never "+
					"disabled: servers given by IP address are looked up in DNS (reverse lookup), and when that finds no name, "+
					"device blocks are refused until `protected_computers` names each such server as `ADDRESS=NAME`.", envServers),
			},
			"protected_computers": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				MarkdownDescription: envListNote("Computer names or DNS host names that device blocks never disable, in addition to "+
					"`servers` (never instead of them). A Remote Access server that `servers` gives by an IP address DNS cannot "+
					"name is named here as `ADDRESS=NAME`, such as `10.0.0.5=RAS1`: until then every device block is refused, "+
					"whatever other computers this list names.", envProtectedComputers),
			},
			"certificate_authorities": certificateAuthoritiesSchema(),
		},
		Blocks: map[string]schema.Block{
			"winrm": schema.SingleNestedBlock{
				MarkdownDescription: "How to reach the Remote Access servers over WinRM (WS-Management).",
				Attributes: map[string]schema.Attribute{
					"port": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: envNote("TCP port of the WinRM listener. Defaults to 5986 with HTTPS and 5985 without.", envWinRMPort),
					},
					"use_https": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Use the HTTPS listener. Defaults to `true`.", envWinRMUseHTTPS),
					},
					"insecure": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Skip verification of the servers' TLS certificates. Defaults to `false`; use only in a lab.", envWinRMInsecure),
					},
					"ca_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("PEM bundle of the certificate authorities that issued the WinRM listeners' certificates. The system pool is used when empty.", envWinRMCACertificate),
					},
					"tls_server_name": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Name expected in the servers' certificates when it differs from the host name used to connect.", envWinRMTLSServerName),
					},
					"username": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Account that runs the Remote Access cmdlets, as `user`, `DOMAIN\\user` or `user@realm`.", envWinRMUsername),
					},
					"password": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: envNote("Password of `username`. Never written to state or logs.", envWinRMPassword),
					},
					"auth": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Authentication: `ntlm` (default), `basic` (HTTPS only) or `kerberos`.", envWinRMAuth),
					},
					"timeout": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Deadline of one WinRM operation, as a Go duration such as `60s` or `2m`. Defaults to `60s`.", envWinRMTimeout),
					},
					"max_concurrency_per_server": schema.Int64Attribute{
						Optional:            true,
						MarkdownDescription: envNote("Operations run at once on one server, each in a remote shell of its own. Windows allows an account `MaxShellsPerUser` shells (5 when no policy sets it): keep this below it, counting other sessions of the account. Defaults to `4`.", envWinRMMaxConcurrency),
					},
				},
				Blocks: map[string]schema.Block{
					"kerberos": kerberosBlock("WinRM", envWinRMKerberosPrefix, "`HTTP/<server>`; set it when the servers share the principal of their cluster name (on a service account)"),
				},
			},
			"ldap": schema.SingleNestedBlock{
				MarkdownDescription: "How to reach Active Directory over LDAP to disable and re-enable accounts.",
				Attributes: map[string]schema.Attribute{
					"urls": schema.ListAttribute{
						ElementType: types.StringType,
						Optional:    true,
						MarkdownDescription: envListNote("One or more `ldaps://` or `ldap://` URLs of domain controllers, tried in order for failover.",
							envLDAPURLs),
					},
					"start_tls": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Upgrade `ldap://` connections with StartTLS. Defaults to `false`.", envLDAPStartTLS),
					},
					"ca_certificate": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("PEM bundle of the certificate authorities of the domain controllers' certificates. The system pool is used when empty.", envLDAPCACertificate),
					},
					"insecure": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Skip verification of the domain controllers' TLS certificates. Defaults to `false`.", envLDAPInsecure),
					},
					"bind_username": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Account that binds, as a UPN (`user@realm`), `DOMAIN\\user` or a distinguished name.", envLDAPBindUsername),
					},
					"bind_password": schema.StringAttribute{
						Optional:            true,
						Sensitive:           true,
						MarkdownDescription: envNote("Password of `bind_username`. Never written to state or logs.", envLDAPBindPassword),
					},
					"base_dn": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Base of account searches. Discovered from the root DSE (defaultNamingContext) when empty.", envLDAPBaseDN),
					},
					"domain_controllers": schema.ListAttribute{
						ElementType: types.StringType,
						Optional:    true,
						MarkdownDescription: envListNote("LDAP URLs of domain controllers that must show a change before a block counts as done (read-back after replication).",
							envLDAPDomainControllers),
					},
					"write_url": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: envNote("LDAP URL of the one domain controller that every block write goes to (disable, "+
							"enable and the block record). Defaults to the PDC emulator, the domain's `fsmoRoleOwner`, found on first "+
							"use: one of `urls` or `domain_controllers` when its root DSE names it, else its `dNSHostName` with the "+
							"scheme and port of the first URL. Active Directory is multi-master and replication keeps one value of an "+
							"attribute, so two configurations that wrote their holds on two different controllers could lose one "+
							"hold; every configuration of a domain must write to the same controller.", envLDAPWriteURL),
					},
					"allowed_search_bases": schema.ListAttribute{
						ElementType: types.StringType,
						Optional:    true,
						MarkdownDescription: envListNote("When set, only accounts under one of these distinguished names may be disabled.",
							envLDAPAllowedSearchBases),
					},
					"allow_plaintext": schema.BoolAttribute{
						Optional:            true,
						MarkdownDescription: envNote("Allow a simple bind over an unencrypted `ldap://` connection. Defaults to `false`.", envLDAPAllowPlaintext),
					},
					"timeout": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: envNote("Deadline of one LDAP operation, as a Go duration, and the longest a block waits for "+
							"`domain_controllers` to show a change. Defaults to `30s`.", envLDAPTimeout),
					},
					"record_blocks": schema.BoolAttribute{
						Optional: true,
						MarkdownDescription: envNote("Record each block on the account it disables: who, why, when and the account's "+
							"state before the first block, in the account's `info` (Notes) attribute, with a one-line summary in "+
							"`description`; both are restored when the last block is lifted. The record lets two blocks of one account "+
							"(two configurations, two teams) never undo each other. Set `false` where the bind account may write only "+
							"`userAccountControl`; destroy then relies on the state alone, so keep one block per account: destroying "+
							"the block that disabled an account enables it while another block of it is still in state (the plan of a "+
							"new block warns when the account is disabled already or another new block holds it). Defaults to `true`.", envLDAPRecordBlocks),
					},
				},
				Blocks: map[string]schema.Block{
					"kerberos": kerberosBlock("LDAP", envLDAPKerberosPrefix, "`ldap/<domain controller>`"),
				},
			},
		},
	}
}

func kerberosBlock(service, envPrefix, defaultSPN string) schema.SingleNestedBlock {
	return schema.SingleNestedBlock{
		MarkdownDescription: fmt.Sprintf("Kerberos settings for %s. With `auth = \"kerberos\"` (WinRM) or when this block is "+
			"present (LDAP, GSSAPI bind), the client logs on with the keytab, or with the password when no keytab is given.", service),
		Attributes: map[string]schema.Attribute{
			"realm": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: envNote("Kerberos realm, for example `CORP.EXAMPLE`.", envPrefix+"REALM"),
			},
			"krb5_conf": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: envNote("Path of the krb5.conf that locates the KDCs. Defaults to `/etc/krb5.conf`.", envPrefix+"KRB5_CONF"),
			},
			"keytab": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: envNote("Path of a keytab for the user. Cannot be combined with a password.", envPrefix+"KEYTAB"),
			},
			"spn": schema.StringAttribute{
				Optional:            true,
				MarkdownDescription: envNote(fmt.Sprintf("Service principal name to request a ticket for. Defaults to %s.", defaultSPN), envPrefix+"SPN"),
			},
		},
	}
}
