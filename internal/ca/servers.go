package ca

import (
	"context"
	"fmt"
)

// IPsec CertValidationLevel values (Set-NetFirewallSetting -CertValidationLevel).
const (
	ValidationNone            = "None"
	ValidationAttemptCrlCheck = "AttemptCrlCheck"
	ValidationRequireCrlCheck = "RequireCrlCheck"
)

// Enforcement is whether one Remote Access server refuses revoked certificates.
type Enforcement struct {
	// IKEv2CertAuthFlags is the CertAuthFlags value for IKEv2 machine-certificate connections (Always On VPN
	// device tunnels); nil when absent.
	IKEv2CertAuthFlags *int `json:"ikev2_cert_auth_flags"`
	// IKEv2Enforced is true only for CertAuthFlags 4, the value Microsoft documents as enforcing.
	IKEv2Enforced bool `json:"ikev2_enforced"`
	// IPsecCertValidationLevel is the global IPsec setting in force (DirectAccess): None, AttemptCrlCheck or
	// RequireCrlCheck.
	IPsecCertValidationLevel string `json:"ipsec_cert_validation_level"`
}

// IPsecEnforced reports whether IPsec refuses a certificate its CRL lists (AttemptCrlCheck or RequireCrlCheck).
func (e Enforcement) IPsecEnforced() bool {
	return e.IPsecCertValidationLevel == ValidationAttemptCrlCheck || e.IPsecCertValidationLevel == ValidationRequireCrlCheck
}

// Commands that enforce revocation, for a plan's warning: the provider never changes these settings itself.
const (
	EnforceIKEv2Command = `reg add HKLM\SYSTEM\CurrentControlSet\Services\RemoteAccess\Parameters\Ikev2 /f /v CertAuthFlags /t REG_DWORD /d "4"` +
		` ; Restart-Service RemoteAccess`
	EnforceIPsecCommand = `Set-NetFirewallSetting -CertValidationLevel RequireCrlCheck`
)

// ReadEnforcement reads whether a Remote Access server enforces revocation, for IKEv2 and for IPsec.
func ReadEnforcement(ctx context.Context, r Runner) (Enforcement, error) {
	var out Enforcement
	if err := r.Run(ctx, scriptEnforcement, struct{}{}, &out); err != nil {
		return Enforcement{}, fmt.Errorf("reading revocation enforcement: %w", err)
	}
	return out, nil
}

// FlushRevocationCaches deletes a Remote Access server's cached CRLs and resynchronises its chain engine, so that
// its next check reads the CRL the CA just published.
func FlushRevocationCaches(ctx context.Context, r Runner) (Flushed, error) {
	var out Flushed
	if err := r.Run(ctx, scriptFlush, struct{}{}, &out); err != nil {
		return Flushed{}, fmt.Errorf("flushing the revocation caches: %w", err)
	}
	return out, nil
}
