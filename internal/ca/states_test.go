package ca_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/ca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/cluster"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/enterpriseca"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab/wsman"
	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/testutil/poll"
)

const scriptStates = "ca-get-certificate-states/v1"

// askAll has n callers read the states of serials at once through r (caller i the serial i modulo their number, the
// first one also a serial the CA does not have), sends their run once they all wait, and returns their answers.
func askAll(t *testing.T, r *ca.StateReader, c *ca.CA, serials []string, n int) ([][]ca.Certificate, []error) {
	t.Helper()
	got, errs := make([][]ca.Certificate, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		ask := []string{serials[i%len(serials)]}
		if i == 0 {
			ask = append(ask, "ABCDEF99")
		}
		wg.Go(func() { got[i], errs[i] = r.States(ctx(t), c, ask) })
	}
	poll.Until(t, "every caller waits for the run", func() bool { return r.Waiting(c) == n })
	r.SendNow(c)
	wg.Wait()
	return got, errs
}

// The refreshes that ask one CA at the same time share one run, and each gets exactly the certificates it named,
// in the state the CA's database has (read directly); a serial the CA does not have is left out.
func TestStateReaderSharesOneRunAndGivesEachItsOwn(t *testing.T) {
	l, clients := startLab(t, lab.Config{})
	c := newCA(t, l, clients["RAS1"])
	var serials []string
	for _, requester := range []string{`CORP\CLIENT1$`, device} {
		for _, r := range l.EnterpriseCA().Rows(requester, []string{cluster.TemplateDirectAccess, cluster.TemplateDeviceTunnel}) {
			serials = append(serials, r.Serial)
		}
	}
	if len(serials) < 3 {
		t.Fatalf("the seed's CA has %d device certificates of CLIENT1 and CLIENT2; want 3 or more", len(serials))
	}
	if _, err := c.Hold(ctx(t), serials[1]); err != nil {
		t.Fatal(err)
	}
	r := &ca.StateReader{Window: time.Hour} // sent by the test once every caller waits
	before := l.CommandsPerScript("RAS1")[scriptStates]
	got, errs := askAll(t, r, c, serials, 20)
	if runs := l.CommandsPerScript("RAS1")[scriptStates] - before; runs != 1 {
		t.Errorf("%d runs of %s for 20 callers; want one", runs, scriptStates)
	}
	for i, certs := range got {
		serial := serials[i%len(serials)]
		if errs[i] != nil || len(certs) != 1 || !strings.EqualFold(certs[0].Serial, serial) || certs[0].CA != c.Config() {
			t.Fatalf("caller %d asked for %s: %+v, %v; want exactly that certificate", i, serial, certs, errs[i])
		}
		want := row(t, l, serial)
		if certs[0].Disposition != want.Disposition || (want.Disposition == enterpriseca.DispositionRevoked && certs[0].RevocationReason != want.RevocationReason) {
			t.Errorf("caller %d: %s read as %d/%d; the CA's database has %d/%d", i, serial, certs[0].Disposition,
				certs[0].RevocationReason, want.Disposition, want.RevocationReason)
		}
	}
	if !got[1][0].Held() {
		t.Errorf("%s, put on hold, reads %+v", serials[1], got[1][0])
	}
}

// A shared run that fails fails for every caller: none reads a failure as "not on hold".
func TestStateReaderFailureIsEveryCallers(t *testing.T) {
	l, clients := startLab(t, lab.Config{})
	c := newCA(t, l, clients["RAS1"])
	serial := l.EnterpriseCA().Rows(device, []string{cluster.TemplateDeviceTunnel})[0].Serial
	l.Cluster().SetCAFaults(true, false)
	got, errs := askAll(t, &ca.StateReader{Window: time.Hour}, c, []string{serial}, 5)
	for i, err := range errs {
		if !errors.Is(err, ca.ErrUnreachable) || got[i] != nil {
			t.Errorf("caller %d with the CA down: %+v, %v; want ErrUnreachable", i, got[i], err)
		}
	}
}

// Two clients of one CA (two provider configurations: other hosts or credentials, the config in another case) never
// share a run: each caller's serials are read through its own client.
func TestStateReaderKeepsEachClientsReadsApart(t *testing.T) {
	l, clients := startLab(t, lab.Config{})
	mine := newCA(t, l, clients["RAS1"])
	theirs, err := ca.New(strings.ToUpper(l.Info().CertificateAuthority), clients["RAS2"])
	if err != nil {
		t.Fatal(err)
	}
	serial := l.EnterpriseCA().Rows(device, []string{cluster.TemplateDeviceTunnel})[0].Serial
	r := &ca.StateReader{Window: time.Hour}
	before := map[string]int64{"RAS1": l.CommandsPerScript("RAS1")[scriptStates], "RAS2": l.CommandsPerScript("RAS2")[scriptStates]}
	var wg sync.WaitGroup
	for _, c := range []*ca.CA{mine, theirs} {
		wg.Go(func() {
			if certs, err := r.States(ctx(t), c, []string{serial}); err != nil || len(certs) != 1 {
				t.Errorf("%s: %+v, %v; want its certificate", c.Config(), certs, err)
			}
		})
	}
	poll.Until(t, "each client's caller waits in its own queue", func() bool { return r.Waiting(mine) == 1 && r.Waiting(theirs) == 1 })
	r.SendNow(mine)
	r.SendNow(theirs)
	wg.Wait()
	for server, n := range before {
		if runs := l.CommandsPerScript(server)[scriptStates] - n; runs != 1 {
			t.Errorf("%d runs through %s's client; want its caller's own run", runs, server)
		}
	}
}

// hungStateReads is a lab CA reached through RAS1, whose commands hang until the test lets them go on, and the
// serial of one of its device certificates.
func hungStateReads(t *testing.T) (*ca.CA, string, *wsman.Server) {
	t.Helper()
	l, clients := startLab(t, lab.Config{})
	c := newCA(t, l, clients["RAS1"])
	serial := l.EnterpriseCA().Rows(device, []string{cluster.TemplateDeviceTunnel})[0].Serial
	srv := l.Server("RAS1")
	srv.Faults().SetHangCommands(true)
	return c, serial, srv
}

// When every caller of a shared run gives up (Ctrl-C during a refresh), the last one stops the run and returns only
// once its command has stopped and its shell is gone on the CA's server: Terraform may stop the provider as soon as
// its calls have returned, and a run left going would hold a shell there until the server's idle timeout.
func TestStateReaderRunIsStoppedWhenEveryCallerGivesUp(t *testing.T) {
	c, serial, srv := hungStateReads(t)
	r := &ca.StateReader{Window: time.Hour}
	ask, giveUp := context.WithCancel(ctx(t))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := r.States(ask, c, []string{serial}); !errors.Is(err, context.Canceled) {
				t.Errorf("a caller that gave up: %v, want context.Canceled", err)
			}
		})
	}
	poll.Until(t, "every caller waits for the run", func() bool { return r.Waiting(c) == 3 })
	r.SendNow(c)
	poll.Until(t, "the run's command runs", func() bool { return srv.Counters().RunningCommands == 1 })
	giveUp()
	wg.Wait()
	if n := srv.Counters(); n.RunningCommands != 0 || n.OpenShells != 0 {
		t.Errorf("%d commands running and %d shells open when the last caller returned; want the run stopped and its shell deleted",
			n.RunningCommands, n.OpenShells)
	}
}

// A caller that gives up does not stop a run that others still wait for.
func TestStateReaderRunGoesOnForTheCallersStillWaiting(t *testing.T) {
	c, serial, srv := hungStateReads(t)
	r := &ca.StateReader{Window: time.Hour}
	impatient, giveUp := context.WithCancel(ctx(t))
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = r.States(impatient, c, []string{serial}) })
	var certs []ca.Certificate
	var err error
	wg.Go(func() { certs, err = r.States(ctx(t), c, []string{serial}) })
	poll.Until(t, "both callers wait for the run", func() bool { return r.Waiting(c) == 2 })
	r.SendNow(c)
	poll.Until(t, "the run's command runs", func() bool { return srv.Counters().RunningCommands == 1 })
	giveUp()
	srv.Faults().SetHangCommands(false) // the hung command goes on
	wg.Wait()
	if err != nil || len(certs) != 1 {
		t.Errorf("the caller still waiting: %+v, %v; want its certificate", certs, err)
	}
}
