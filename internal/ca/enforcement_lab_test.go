package ca_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/remoteaccess"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/winrm"
)

const (
	reestablishDelay = 20 * time.Millisecond
	deviceTunnel     = "Vpn:client2.corp.example:" // ConnectionsOn's row of CLIENT2's device tunnel (on RAS2)
	userTunnel       = `Vpn::CORP\bob`             // bob's user tunnel on RAS2, the control
	daClient2        = "DirectAccess:client2.corp.example:"
)

// connected asks the lab's model (not the provider) whether a server carries a connection whose row starts with
// prefix.
func connected(t *testing.T, l *lab.Lab, server, prefix string) bool {
	t.Helper()
	rows, err := l.Cluster().ConnectionsOn(ctx(t), server)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(rows, func(r string) bool { return strings.HasPrefix(r, prefix) })
}

// dropDeviceAndControl purges CLIENT2's sessions and bob's VPN on a server, then waits until the control (bob, whose
// account is enabled and who presents no certificate) is back: the server has then decided on every due client,
// the device included, so the device's absence at that point is the server's refusal, not a delay.
func dropDeviceAndControl(t *testing.T, l *lab.Lab, r *winrm.Client, server string) {
	t.Helper()
	// The counts say the tunnels were up and went down; they may be back by the time the lab is asked.
	device, err := remoteaccess.PurgeDevice(ctx(t), r, []string{`CORP\CLIENT2$`, "client2.corp.example"}, "CLIENT2", true)
	if err != nil || device.VPNDeviceTunnelsDisconnected != 1 {
		t.Fatalf("purging CLIENT2's device tunnel on %s: %+v, %v", server, device, err)
	}
	user, err := remoteaccess.PurgeUser(ctx(t), r, []string{`CORP\bob`, `corp.example\bob`}, "")
	if err != nil || user.VPNConnectionsDisconnected != 1 {
		t.Fatalf("disconnecting bob on %s: %+v, %v", server, user, err)
	}
	poll.Until(t, "bob's VPN comes back on "+server, func() bool { return connected(t, l, server, userTunnel) })
}

func enforce(t *testing.T, l *lab.Lab, server string, e cluster.ServerEnforcement) {
	t.Helper()
	if !l.Cluster().SetRevocationEnforcement(server, e) {
		t.Fatalf("SetRevocationEnforcement(%s, %+v) refused", server, e)
	}
}

// Always On VPN device tunnel (IKEv2): a hold does nothing where CertAuthFlags is not 4; where it is, the server
// refuses the held certificate only once its cached CRL lists it (after a flush); unrevoked, published and flushed,
// the device comes back.
func TestDeviceTunnelHoldIsEnforcedOnlyWhereConfigured(t *testing.T) {
	l, clients := startLab(t, lab.Config{ReestablishDelay: reestablishDelay})
	c := newCA(t, l, clients["RAS1"])
	ras2 := clients["RAS2"]
	cert := only(t, c, device, cluster.TemplateDeviceTunnel)

	e, err := ca.ReadEnforcement(ctx(t), ras2)
	if err != nil || e.IKEv2Enforced || e.IKEv2CertAuthFlags != nil || e.IPsecEnforced() {
		t.Fatalf("ReadEnforcement on a default server = %+v, %v; want nothing enforced", e, err)
	}
	if _, err := c.Hold(ctx(t), cert.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCRL(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.FlushRevocationCaches(ctx(t), ras2); err != nil {
		t.Fatal(err)
	}
	dropDeviceAndControl(t, l, ras2, "RAS2")
	poll.Until(t, "the held device comes back where revocation is not enforced", func() bool { return connected(t, l, "RAS2", deviceTunnel) })

	four := 4
	enforce(t, l, "RAS2", cluster.ServerEnforcement{CertAuthFlags: &four})
	if e, err := ca.ReadEnforcement(ctx(t), ras2); err != nil || !e.IKEv2Enforced || e.IKEv2CertAuthFlags == nil || *e.IKEv2CertAuthFlags != 4 {
		t.Fatalf("ReadEnforcement after CertAuthFlags 4 = %+v, %v", e, err)
	}
	if listed, cached := l.Cluster().RevocationCached("RAS2", cert.Serial); !listed || !cached {
		t.Fatalf("RAS2's cache after the flush lists the hold: %v (cached %v)", listed, cached)
	}
	dropDeviceAndControl(t, l, ras2, "RAS2")
	if connected(t, l, "RAS2", deviceTunnel) {
		t.Fatal("the held device came back on a server that enforces revocation and has the CRL that lists it")
	}

	if _, err := c.Unrevoke(ctx(t), cert.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCRL(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.FlushRevocationCaches(ctx(t), ras2); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the unrevoked device comes back", func() bool { return connected(t, l, "RAS2", deviceTunnel) })
}

// Without a flush an enforcing server keeps trusting its cached CRL: the held device comes back.
func TestCachedCRLWithoutFlushStillAccepts(t *testing.T) {
	l, clients := startLab(t, lab.Config{ReestablishDelay: reestablishDelay})
	c := newCA(t, l, clients["RAS1"])
	four := 4
	enforce(t, l, "RAS2", cluster.ServerEnforcement{CertAuthFlags: &four})
	cert := only(t, c, device, cluster.TemplateDeviceTunnel)
	if _, err := c.Hold(ctx(t), cert.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCRL(ctx(t)); err != nil {
		t.Fatal(err)
	}
	dropDeviceAndControl(t, l, clients["RAS2"], "RAS2")
	poll.Until(t, "the device comes back on the cached CRL", func() bool { return connected(t, l, "RAS2", deviceTunnel) })
	if listed, cached := l.Cluster().RevocationCached("RAS2", cert.Serial); listed || !cached {
		t.Fatalf("RAS2's cached CRL lists the hold (%v) or is gone (cached %v) without a flush", listed, cached)
	}
}

// Once the cached CRL's nextUpdate passes, the server downloads the current one by itself.
func TestCachedCRLExpires(t *testing.T) {
	l, clients := startLab(t, lab.Config{ReestablishDelay: reestablishDelay, CRLPeriod: time.Second})
	c := newCA(t, l, clients["RAS1"])
	cert := only(t, c, device, cluster.TemplateDeviceTunnel)
	if _, err := c.Hold(ctx(t), cert.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCRL(ctx(t)); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "RAS2 downloads the new CRL once its cached one expires", func() bool {
		_ = connected(t, l, "RAS2", deviceTunnel) // a script run moves the model forward
		listed, _ := l.Cluster().RevocationCached("RAS2", cert.Serial)
		return listed
	})
}

// DirectAccess (IPsec): RequireCrlCheck on RAS1 keeps the held device out there, while RAS2 (None) lets it in.
func TestDirectAccessHoldFollowsCertValidationLevel(t *testing.T) {
	l, clients := startLab(t, lab.Config{ReestablishDelay: reestablishDelay})
	c := newCA(t, l, clients["RAS1"])
	enforce(t, l, "RAS1", cluster.ServerEnforcement{CertValidationLevel: "RequireCrlCheck"})
	if e, err := ca.ReadEnforcement(ctx(t), clients["RAS1"]); err != nil || !e.IPsecEnforced() || e.IPsecCertValidationLevel != ca.ValidationRequireCrlCheck {
		t.Fatalf("ReadEnforcement on RAS1 = %+v, %v", e, err)
	}
	cert := only(t, c, device, cluster.TemplateDirectAccess)
	if _, err := c.Hold(ctx(t), cert.Serial); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PublishCRL(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for _, server := range []string{"RAS1", "RAS2"} {
		if _, err := ca.FlushRevocationCaches(ctx(t), clients[server]); err != nil {
			t.Fatal(err)
		}
		if _, err := remoteaccess.PurgeDevice(ctx(t), clients[server], []string{`CORP\CLIENT2$`, "client2.corp.example"}, "CLIENT2", false); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "CLIENT2 comes back on RAS2, which does not check revocation", func() bool { return connected(t, l, "RAS2", daClient2) })
	// CLIENT2 was due on both servers in the same pass: RAS1's decision is made.
	if connected(t, l, "RAS1", daClient2) {
		t.Fatal("the held device came back on RAS1, which requires a CRL check")
	}
}

// The block flushes and reads every server at once through remoteaccess.FanOut; a server that fails is named.
func TestFanOutAcrossServers(t *testing.T) {
	l, clients := startLab(t, lab.Config{ReestablishDelay: reestablishDelay})
	runners := map[string]remoteaccess.Runner{}
	for name, c := range clients {
		runners[name] = c
	}
	cl, err := remoteaccess.NewCluster(runners)
	if err != nil {
		t.Fatal(err)
	}
	four := 4
	enforce(t, l, "RAS2", cluster.ServerEnforcement{CertAuthFlags: &four})
	got, err := remoteaccess.FanOut(ctx(t), cl, func(ctx context.Context, r remoteaccess.Runner) (ca.Enforcement, error) {
		return ca.ReadEnforcement(ctx, r)
	})
	if err != nil || got["RAS1"].IKEv2Enforced || !got["RAS2"].IKEv2Enforced {
		t.Fatalf("enforcement per server = %+v, %v", got, err)
	}
	l.Cluster().SetLanguageMode("RAS1", "ConstrainedLanguage")
	_, err = remoteaccess.FanOut(ctx(t), cl, func(ctx context.Context, r remoteaccess.Runner) (ca.Flushed, error) {
		return ca.FlushRevocationCaches(ctx, r)
	})
	if failed := remoteaccess.FailedServers(err); len(failed) != 1 || failed[0] != "RAS1" {
		t.Fatalf("flush with RAS1 constrained = %v (failed %v); want RAS1 named", err, failed)
	}
}
