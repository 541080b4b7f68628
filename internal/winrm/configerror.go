package winrm

import "errors"

// IsConfiguration reports whether err is a failure that trying again cannot fix: the server's certificate is not
// trusted or the logon was refused. Such an error means the provider's WinRM settings are wrong.
func IsConfiguration(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Kind == KindAuth || e.Kind == KindTLS)
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
		return "winrm.username, winrm.password and winrm.auth (Basic works only for local accounts, never domain accounts)"
	}
	return ""
}
