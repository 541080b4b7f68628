package remoteaccess

import (
	"slices"
	"testing"
)

// The command list is what the least-privilege guide and the readiness read rely on: a verb with an inner capital
// (ConvertFrom, ForEach) is a command like any other; comments and the script's own functions are not.
func TestCommandsInFindsEveryVerbNoun(t *testing.T) {
	text := "# Get-Documented in a comment\nfunction Get-Helper { 1 }\n$x = $InputJson | ConvertFrom-Json\n" +
		"@(1) | ForEach-Object { Get-Helper } | ConvertTo-Json\n$s = ConvertTo-SecureString -String 'x' -AsPlainText -Force\n"
	want := []string{"ConvertFrom-Json", "ConvertTo-Json", "ConvertTo-SecureString", "ForEach-Object"}
	if got := CommandsIn(text); !slices.Equal(got, want) {
		t.Errorf("CommandsIn = %q, want %q", got, want)
	}
	all := ProviderCommands()
	for _, name := range []string{"ConvertFrom-Json", "ConvertTo-Json", "ConvertTo-SecureString", "Stop-NlbClusterNode",
		"Get-NetIPsecMainModeSA", "Disconnect-VpnUser"} {
		if !slices.Contains(all, name) {
			t.Errorf("ProviderCommands lacks %s: %q", name, all)
		}
	}
	if slices.Contains(all, "Get-NetFirewallSetting") {
		t.Errorf("ProviderCommands holds the readiness read's own commands: %q", all)
	}
}
