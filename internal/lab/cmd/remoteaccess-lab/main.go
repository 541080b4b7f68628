// Command remoteaccess-lab runs the offline Remote Access lab on loopback addresses for a demo or a manual test of
// the provider: the emulated Remote Access servers behind WinRM over HTTPS, and the lab's directory over LDAPS and
// StartTLS.
//
//	go run ./internal/lab/cmd/remoteaccess-lab [-config lab.json] [-port 5986] [-ca-file lab-ca.pem] [-info-file lab.json] [-enforce-revocation]
//
// It prints what the provider needs (addresses, port, credentials, CA bundle, LDAP URLs) and the status endpoint
// (counters and fault switches, see internal/lab/status.go) as one JSON document on stdout, logs every command the
// servers run to stderr, and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/remoteaccess-iac/terraform-provider-remoteaccess/internal/lab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "remoteaccess-lab:", err)
		os.Exit(1)
	}
}

// run starts the lab, prints its Info and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("remoteaccess-lab", flag.ContinueOnError)
	flags.SetOutput(stderr)
	configPath := flags.String("config", "", "JSON lab configuration, such as internal/lab/testdata/lab.json (default: the standard lab)")
	port := flags.Int("port", 0, "WinRM HTTPS port of every server, overriding the configuration; 0 picks a free one")
	caFile := flags.String("ca-file", "", "write the lab's CA bundle (PEM) to this file")
	infoFile := flags.String("info-file", "", "write the lab's information (JSON, with its passwords) to this file")
	enforce := flags.Bool("enforce-revocation", false, "every server enforces certificate revocation (IKEv2 CertAuthFlags 4, IPsec RequireCrlCheck)")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}

	var cfg lab.Config
	if *configPath != "" {
		var err error
		if cfg, err = lab.LoadConfig(*configPath); err != nil {
			return err
		}
	}
	flags.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "port":
			cfg.Port = *port
		case "enforce-revocation":
			cfg.EnforceRevocation = *enforce
		}
	})
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	cfg.Logger = logger

	l, err := lab.Start(cfg)
	if err != nil {
		return err
	}
	if err := announce(l.Info(), *caFile, *infoFile, stdout); err != nil {
		return errors.Join(err, l.Close())
	}
	info := l.Info()
	logger.Info("lab running; stop it with Ctrl-C", "servers", info.ServerAddresses, "winrm_port", info.WinRMPort,
		"ldaps_url", info.LDAPSURL, "ldap_url", info.LDAPURL, "status_url", info.StatusURL)
	<-ctx.Done()
	logger.Info("stopping the lab")
	return l.Close()
}

// announce writes the CA bundle and the Info document to their files, then prints the document.
func announce(info lab.Info, caFile, infoFile string, stdout io.Writer) error {
	if caFile != "" {
		abs, err := filepath.Abs(caFile)
		if err != nil {
			return fmt.Errorf("CA file: %w", err)
		}
		if err := writeFileAtomically(abs, []byte(info.CACertificatePEM), 0o644); err != nil {
			return fmt.Errorf("CA file: %w", err)
		}
		info.CACertificateFile = abs
	}
	doc, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("lab information: %w", err)
	}
	doc = append(doc, '\n')
	if infoFile != "" {
		// The document holds the lab's passwords: readable by its owner only.
		if err := writeFileAtomically(infoFile, doc, 0o600); err != nil {
			return fmt.Errorf("info file: %w", err)
		}
	}
	if _, err := stdout.Write(doc); err != nil {
		return fmt.Errorf("print lab information: %w", err)
	}
	return nil
}

// writeFileAtomically writes through a temporary file and a rename, so that a script waiting for the file never
// reads half of it.
func writeFileAtomically(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
