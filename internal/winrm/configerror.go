package winrm

import "errors"

// IsConfiguration reports whether err is a failure that trying again cannot fix: the server's certificate is not
// trusted, the logon was refused, or the server refuses remote shells. Such an error means the provider's WinRM
// settings, or the server's, are wrong.
func IsConfiguration(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Kind == KindAuth || e.Kind == KindTLS || e.Kind == KindShellAccess)
}

// SettingsToCheck names the provider settings that fix a configuration error.
func SettingsToCheck(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	switch e.Kind {
	case KindTLS:
		return "winrm.ca_certificate, winrm.tls_server_name or winrm.insecure"
	case KindAuth:
		return "winrm.username, winrm.password and winrm.auth (Basic works only for local accounts, never domain accounts); " +
			"over HTTPS, the server's CbtHardeningLevel (Strict refuses this client)"
	case KindShellAccess:
		return "the server's WinRM setting AllowRemoteShellAccess (winrm/config/winrs)"
	}
	return ""
}
