package remoteaccess_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/directory"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

// saCountOf counts a computer's main-mode SAs in the lab's model, across servers, without running a script.
func saCountOf(l *lab, computer string) int {
	n := 0
	for _, da := range l.emulated.Snapshot().DirectAccess {
		if da.Computer == computer {
			n += len(da.MainModeSAs)
		}
	}
	return n
}

// The purge, the looks and the user rule over WinRM, on servers that print SA identities as objects and as strings
// (internal/lab/WINDOWS.md, Shapes): in both, a device's SAs are found and removed, and no verdict is "cannot tell".
func TestLabPurgeAndLooksInBothSAShapes(t *testing.T) {
	for _, shape := range []string{cluster.ShapeObject, cluster.ShapeString} {
		t.Run(shape, func(t *testing.T) {
			l := newLab(t)
			for _, server := range []string{"RAS1", "RAS2"} {
				if err := l.emulated.SetSAShape(server, shape); err != nil {
					t.Fatal(err)
				}
			}
			ctx := deadline(t, 60*time.Second)
			client2 := []string{`CORP\CLIENT2$`, "client2.corp.example"}
			looks, err := l.cluster.GetDeviceSAs(ctx, client2)
			if err != nil {
				t.Fatal(err)
			}
			for server, sas := range looks {
				if len(sas.MainMode) != 2 || sas.Indeterminate {
					t.Errorf("the look at CLIENT2 on %s = %+v; want its two tunnels, told", server, sas)
				}
			}
			l.disable(t, "CLIENT2$")
			l.disable(t, "carol")
			purged, err := l.cluster.PurgeDevice(ctx, client2, "CLIENT2", false)
			if err != nil {
				t.Fatal(err)
			}
			for server, p := range purged {
				if p.MainModeRemoved != 2 || p.Indeterminate {
					t.Errorf("PurgeDevice CLIENT2 on %s = %+v; want both tunnels removed", server, p)
				}
			}
			if n := saCountOf(l, "CLIENT2"); n != 0 {
				t.Errorf("CLIENT2 still has %d SAs in the lab", n)
			}
			users, err := l.cluster.PurgeUser(ctx, directory.UserIdentities(
				directory.Account{Kind: directory.KindUser, SAMAccountName: "carol", UserPrincipalName: "carol@corp.example"},
				directory.DomainInfo{NetBIOSName: "CORP", DNSRoot: "corp.example"}), `CORP\carol`)
			if err != nil {
				t.Fatal(err)
			}
			if users["RAS2"].VPNConnectionsDisconnected != 1 || users["RAS2"].Indeterminate {
				t.Errorf("PurgeUser carol on RAS2 = %+v; want her VPN connection disconnected", users["RAS2"])
			}
		})
	}
}

// A capture of a server in each shape is a lab: the looks and the purges work on it over WinRM.
func TestLabCapturesInBothShapes(t *testing.T) {
	for _, file := range []string{"../lab/cluster/testdata/capture-object-shape.json", "../lab/cluster/testdata/capture-string-shape.json"} {
		t.Run(file, func(t *testing.T) {
			l := newLabWith(t, file)
			ctx := deadline(t, 60*time.Second)
			host1 := l.clients["HOST1"]
			device, err := remoteaccess.GetDeviceSAs(ctx, host1, []string{`DOMAIN1\HOST2$`, "host2.domain1.example"})
			if err != nil || len(device.MainMode) != 2 || device.Indeterminate || device.MainMode[0].CipherAlgorithm == "65003" {
				t.Fatalf("GetDeviceSAs HOST2 = %+v, %v; want two SAs, algorithms by name", device, err)
			}
			purged, err := remoteaccess.PurgeDevice(ctx, host1, []string{`DOMAIN1\HOST2$`}, "HOST2", false)
			if err != nil || purged.MainModeRemoved != 2 {
				t.Errorf("PurgeDevice HOST2 = %+v, %v", purged, err)
			}
			user, err := remoteaccess.PurgeUser(ctx, host1, []string{`DOMAIN1\user4`, `domain1.example\user4`}, "")
			if err != nil || user.VPNConnectionsDisconnected != 1 {
				t.Errorf("PurgeUser user4 (printed as domain1.example\\user4) = %+v, %v; want the connection disconnected", user, err)
			}
			nodes, err := remoteaccess.GetNodes(ctx, host1)
			if err != nil || len(nodes) == 0 {
				t.Errorf("GetNodes = %+v, %v", nodes, err)
			}
		})
	}
}

// Every restricted language mode reads the same: SecurityError on LanguageMode, naming the mode. In
// ConstrainedLanguage the bootstrap prints that document; in RestrictedLanguage and NoLanguage PowerShell refuses
// the bootstrap before it runs, and the provider names its refusal.
func TestLabEveryRestrictedLanguageModeIsNamed(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 60*time.Second)
	for _, mode := range []string{"ConstrainedLanguage", "RestrictedLanguage", "NoLanguage"} {
		l.emulated.SetLanguageMode("RAS1", mode)
		_, err := remoteaccess.GetIPsecSAs(ctx, l.clients["RAS1"], []string{`CORP\CLIENT1$`})
		var we *winrm.Error
		if !errors.As(err, &we) || we.Category != "SecurityError" || we.Target != "LanguageMode" || !strings.Contains(we.Message, mode) {
			t.Errorf("%s: %v; want SecurityError on LanguageMode naming the mode", mode, err)
		}
	}
}

// A manage-out shutdown is requested, never confirmed: Stop-Computer does not wait, and its remote result may be
// indeterminate.
func TestLabShutdownIsRequestedNotConfirmed(t *testing.T) {
	l := newLab(t)
	ctx := deadline(t, 2*time.Minute)
	admin := remoteaccess.Credential{UserName: l.dir.AdminCredentials().DownLevel, Password: l.dir.AdminCredentials().Password}
	got, err := remoteaccess.RequestShutdown(ctx, l.clients["RAS1"], "client1.corp.example", &admin)
	if err != nil || !got.Requested || got.Confirmed || !strings.HasPrefix(got.String(), "shutdown requested, not confirmed") {
		t.Errorf("RequestShutdown = %+v (%q), %v; want requested, not confirmed", got, got.String(), err)
	}
	if n := saCountOf(l, "CLIENT1"); n != 0 {
		t.Errorf("CLIENT1 still has %d SAs after its shutdown", n)
	}
	// Stop-Computer raising an error once the shutdown started is neither a failure nor a success.
	l.emulated.ShutdownIndeterminate("RAS1")
	got, err = remoteaccess.RequestShutdown(ctx, l.clients["RAS1"], "client2.corp.example", &admin)
	if err != nil || !got.Requested || got.Confirmed || !strings.Contains(got.String(), "not confirmed (Stop-Computer reported OperationStopped") {
		t.Errorf("RequestShutdown with an indeterminate result = %+v (%q), %v; want requested, not confirmed, with the cmdlet's error", got, got.String(), err)
	}
}

// One cluster whose servers print SAs in different shapes and VPN users in the DNS form
// (testdata/cluster-mixed-shapes.json): a device's and a user's purge hold on every server at once.
func TestLabMixedShapesCluster(t *testing.T) {
	l := newLabWith(t, "../lab/cluster/testdata/cluster-mixed-shapes.json")
	ctx := deadline(t, 60*time.Second)
	l.disable(t, "CLIENT2$")
	l.disable(t, "carol")
	client2 := []string{`CORP\CLIENT2$`, "client2.corp.example"}
	purged, err := l.cluster.PurgeDevice(ctx, client2, "CLIENT2", true)
	if err != nil {
		t.Fatal(err)
	}
	if purged["RAS1"].MainModeRemoved != 2 || purged["RAS2"].MainModeRemoved != 2 || purged["RAS2"].VPNDeviceTunnelsDisconnected != 1 {
		t.Errorf("PurgeDevice CLIENT2 = %+v; want both tunnels on each server and its device tunnel", purged)
	}
	carol := directory.Account{Kind: directory.KindUser, SAMAccountName: "carol", UserPrincipalName: "carol@corp.example"}
	corp := directory.DomainInfo{NetBIOSName: "CORP", DNSRoot: "corp.example"}
	// As the block does: the user's identities and every form the VPN statistics may print her name in.
	users, err := l.cluster.PurgeUser(ctx, append(directory.UserIdentities(carol, corp), directory.VPNUserNames(carol, corp)...), `CORP\carol`)
	if err != nil || users["RAS2"].VPNConnectionsDisconnected != 1 {
		t.Errorf("PurgeUser carol = %+v, %v; want her VPN connection, printed corp.example\\carol, disconnected", users, err)
	}
	for _, v := range l.emulated.Snapshot().VPN {
		if strings.HasSuffix(v.UserName, `\carol`) || v.HostName == "client2.corp.example" {
			t.Errorf("still connected in the lab: %+v", v)
		}
	}
	if n := saCountOf(l, "CLIENT2"); n != 0 {
		t.Errorf("CLIENT2 still has %d SAs in the lab", n)
	}
}
