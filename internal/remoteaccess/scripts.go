package remoteaccess

import (
	"embed"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// The scripts are static files: their input is one JSON document on stdin, never text spliced into them. The
// helpers several of them share are in scripts/include (see winrm.LoadScript).
//
//go:embed scripts/*.ps1 scripts/include/*.ps1
var scriptFiles embed.FS

// One script per operation, each declared a read or a write (scripts/CONTRACT.md, "Reads and writes"): a read may be
// sent again after a lost reply, a write never once it may have reached the server (winrm.ErrOutcomeUnknown). A
// script that does not parse is a build defect: mustScript panics when the package loads, and the package tests
// load it.
var (
	scriptGetNodes       = mustScript("get-nodes").AsRead()
	scriptGetConnections = mustScript("get-connections").AsRead()
	scriptGetIPsecSAs    = mustScript("get-ipsec-sas").AsRead()
	scriptPurgeDevice    = mustScript("purge-device")
	scriptPurgeDevices   = mustScript("purge-devices")
	scriptPurgeUser      = mustScript("purge-user")
	scriptDisconnectVPN  = mustScript("disconnect-vpn")
	scriptStopComputer   = mustScript("stop-computer")
	scriptDrainNode      = mustScript("drain-node")
	scriptResumeNode     = mustScript("resume-node")

	scriptDisconnectVPNUsers = mustScript("disconnect-vpn-users")
	scriptPurgeSAs           = mustScript("purge-sas")
)

// Scripts returns every script this package runs.
func Scripts() []winrm.Script {
	return []winrm.Script{
		scriptGetNodes, scriptGetConnections, scriptGetIPsecSAs, scriptPurgeDevice, scriptPurgeDevices, scriptPurgeUser,
		scriptDisconnectVPN, scriptStopComputer, scriptDrainNode, scriptResumeNode,
		scriptDisconnectVPNUsers, scriptPurgeSAs, scriptGetReadiness,
	}
}

// mustScript loads scripts/<name>.ps1, its helpers included, as a write (see winrm.Script.ReadOnly).
func mustScript(name string) winrm.Script {
	s, err := winrm.LoadScript(scriptFiles, name)
	if err != nil {
		panic("remoteaccess: " + err.Error())
	}
	return s
}
