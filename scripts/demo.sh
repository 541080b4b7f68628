#!/usr/bin/env bash
# make demo: block a stolen laptop and drain a node for maintenance against the built-in lab with the real Terraform
# CLI, show that a second plan is empty, then destroy both: the account is enabled again and the node back in
# rotation. Needs only Go; the lab runs on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything the demo writes stays its owner's: the lab's information (info.json, and lab.out, which repeats it)
# holds the lab's passwords.
umask 077

terraform_bin=${TERRAFORM:?set TERRAFORM to a Terraform CLI (make demo does)}
# DEMO_DIR runs a copy of examples/demo elsewhere, for a test that runs the demo.
demo=${DEMO_DIR:-examples/demo}
state=$(cd "$demo" && pwd)/.lab
rm -rf "$state" && mkdir -p "$state/plugins"

echo "== building the provider and the lab"
go build -o "$state/plugins/terraform-provider-remoteaccess" .
go build -o "$state/remoteaccess-lab" ./internal/lab/cmd/remoteaccess-lab

echo "== starting the lab (two emulated Remote Access servers and a directory on loopback)"
"$state/remoteaccess-lab" -info-file "$state/info.json" >"$state/lab.out" 2>"$state/lab.log" &
lab_pid=$!
trap 'kill "$lab_pid" 2>/dev/null; wait "$lab_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$state/info.json" ] && break
  kill -0 "$lab_pid" 2>/dev/null || { cat "$state/lab.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$state/info.json" ] || { echo "the lab did not start" >&2; cat "$state/lab.log" >&2; exit 1; }

cat >"$state/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "remoteaccess-iac/remoteaccess" = "$state/plugins"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$state/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
tf() { "$terraform_bin" -chdir="$demo" "$@"; }

echo "== terraform apply: block CLIENT1, drain RAS2 (its clients move to RAS1)"
tf apply -auto-approve -input=false -state="$state/terraform.tfstate"
echo "== terraform plan: nothing left to do"
tf plan -detailed-exitcode -input=false -state="$state/terraform.tfstate"
echo "== terraform destroy: the block is lifted, CLIENT1 is enabled again and RAS2 is back in rotation"
tf destroy -auto-approve -input=false -state="$state/terraform.tfstate"
echo "== demo complete"
