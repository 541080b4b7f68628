package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// make demo, run on a copy of examples/demo, leaves nothing that others may read: the lab's information (info.json)
// and the lab's output (lab.out, which repeats it) hold the lab's passwords. The demo runs under a umask that
// grants everyone everything, so that only the script's own care keeps its files private.
func TestAccDemoFilesAreReadableByTheirOwnerOnly(t *testing.T) {
	cli := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if os.Getenv("TF_ACC") == "" || cli == "" {
		t.Skip("runs the demo with the real CLI: set TF_ACC=1 and TF_ACC_TERRAFORM_PATH")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	mainTF, err := os.ReadFile(filepath.Join("examples", "demo", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), mainTF, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("bash", filepath.Join("scripts", "demo.sh"))
	cmd.Env = append(os.Environ(), "TERRAFORM="+cli, "DEMO_DIR="+dir)
	old := syscall.Umask(0)
	out, err := cmd.CombinedOutput()
	syscall.Umask(old)
	if err != nil {
		t.Fatalf("make demo failed: %v\n%s", err, out)
	}

	state := filepath.Join(dir, ".lab")
	var info struct {
		WinRMPassword string `json:"winrm_password"`
	}
	data, err := os.ReadFile(filepath.Join(state, "info.json"))
	if err != nil || json.Unmarshal(data, &info) != nil || info.WinRMPassword == "" {
		t.Fatalf("the demo wrote no lab information with a password: %v", err)
	}
	if lab, err := os.ReadFile(filepath.Join(state, "lab.out")); err != nil || !bytes.Contains(lab, []byte(info.WinRMPassword)) {
		t.Errorf("lab.out does not repeat the password (%v): the check below would miss it", err)
	}
	checked := 0
	err = filepath.WalkDir(state, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		checked++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is %v: others may read it", path, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil || checked < 5 {
		t.Fatalf("walked %d entries of %s: %v", checked, state, err)
	}
}
