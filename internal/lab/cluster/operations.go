package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/strictjson"
)

// operation emulates one script on one server. It runs with the cluster locked and the model advanced to now.
type operation func(c *Cluster, call call) (any, error)

type call struct {
	server string
	now    time.Time
	input  []byte
}

// operations maps a script identifier (its first line) to its emulation. A script missing here fails loudly.
var operations = map[string]operation{
	"get-nodes/v1":       getNodes,
	"get-connections/v1": getConnections,
	"get-ipsec-sas/v1":   getIPsecSAs,
	"purge-device/v1":    purgeDevice,
	"purge-devices/v1":   purgeDevices,
	"purge-user/v1":      purgeUser,
	"disconnect-vpn/v1":  disconnectVPN,
	"stop-computer/v1":   stopComputer,
	"resume-node/v1":     resumeNode,

	"disconnect-vpn-users/v1": disconnectVPNUsers,
	"purge-sas/v1":            purgeSAs,

	// The CA's scripts (ca_scripts.go, revocation.go).
	"ca-get-certificates/v1":           caGetCertificates,
	"ca-get-certificate-states/v1":     caGetCertificateStates,
	"ca-revoke/v1":                     caRevoke,
	"ca-unrevoke/v1":                   caUnrevoke,
	"ca-publish-crl/v1":                caPublishCRL,
	"ca-flush-revocation-caches/v1":    flushRevocationCaches,
	"ca-get-revocation-enforcement/v1": getRevocationEnforcement,
	"get-readiness/v1":                 getReadiness,
}

// scriptError is the {"error":{...}} document a script writes before exiting with code 1.
type scriptError struct {
	Category string `json:"category"`
	Message  string `json:"message"`
	Target   string `json:"target"`
}

func (e *scriptError) Error() string { return e.Category + ": " + e.Message }

func invalidArgument(target, format string, args ...any) error {
	return &scriptError{Category: "InvalidArgument", Message: fmt.Sprintf(format, args...), Target: target}
}

// decodeInput reads a script's JSON input strictly, so that a field the provider misspells is an error here rather
// than a silently ignored value.
func decodeInput(input []byte, v any) error {
	if err := strictjson.Decode(input, v); err != nil {
		return invalidArgument("InputJson", "cannot read the input document: %v", err)
	}
	return nil
}

// identitySet compares identities exactly and case-insensitively, like the scripts' OrdinalIgnoreCase HashSet.
// WINDOWS.md, Identities: never a substring, since *client1* also matches client10.
type identitySet map[string]bool

func newIdentitySet(ids []string) identitySet {
	s := identitySet{}
	for _, id := range ids {
		if id != "" {
			s[strings.ToLower(id)] = true
		}
	}
	return s
}

func (s identitySet) has(id string) bool { return id != "" && s[strings.ToLower(id)] }

func (s identitySet) hasAny(ids []string) bool { return slices.ContainsFunc(ids, s.has) }
