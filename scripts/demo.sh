#!/usr/bin/env bash
# make demo: block a stolen laptop, drain a node for maintenance and hold the certificates of a lost Always On VPN
# laptop against the built-in lab with the real Terraform CLI, show that a second plan is empty, then destroy all
# three: the account is enabled again, the node back in rotation and the lost laptop's device tunnel back. Each step is checked, not just run: examples/demo/observe reads the account from the directory, the
# laptop's connections and the cluster's nodes before, during and after, and the outputs' preconditions (there and in
# examples/demo/main.tf) fail the demo when a step did not do what it says. The lab's servers enforce revocation
# (-enforce-revocation), as the certificate hold needs. Exit code 0 only when every check held.
# Needs only Go (and curl, for the progress line); the lab runs on loopback.
#
# DEMO_DIR runs a copy of examples/demo elsewhere (with observe/ next to main.tf), for a test that runs the demo;
# DEMO_KEEP=1 keeps the working directory .lab (the lab's information, logs and state) after the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
# Everything the demo writes stays its owner's: the lab's information (info.json, and lab.out, which repeats it)
# holds the lab's passwords.
umask 077

terraform_bin=${TERRAFORM:?set TERRAFORM to a Terraform CLI (make demo does)}
demo=$(cd "${DEMO_DIR:-examples/demo}" && pwd)
state=$demo/.lab
lab_pid=
progress_pid=
step="building"

say() { printf '== %s\n' "$*"; }
fail() { printf 'demo FAILED: %s\n' "$*" >&2; exit 1; }

# Cleanup runs however the demo ends: a failed step, Ctrl-C or a kill. Whatever was applied is destroyed while the
# lab still runs (the same command an operator would run), then the lab is stopped and, unless DEMO_KEEP is set,
# its files, which hold its passwords, are removed.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$progress_pid" ]; then kill "$progress_pid" 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ] && [ -n "$lab_pid" ] && [ -s "$state/terraform.tfstate" ] &&
    [ -n "$(tf state list -state="$state/terraform.tfstate" 2>/dev/null)" ]; then
    printf 'demo: step "%s" failed (exit %d); destroying what was applied\n' "$step" "$rc" >&2
    # Without a refresh: the outputs' checks that failed the step would fail the destroy's refresh too.
    if tf destroy -auto-approve -input=false -refresh=false -state="$state/terraform.tfstate" >"$state/cleanup.log" 2>&1; then
      printf 'demo: destroyed what was applied\n' >&2
    else
      printf 'demo: the cleanup destroy failed too:\n' >&2
      cat "$state/cleanup.log" >&2
    fi
  fi
  if [ -n "$lab_pid" ]; then
    kill "$lab_pid" 2>/dev/null || true
    wait "$lab_pid" 2>/dev/null || true
    printf 'demo: lab (pid %s) stopped\n' "$lab_pid"
  fi
  if [ -z "${DEMO_KEEP:-}" ]; then
    rm -rf "$state"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$state" && mkdir -p "$state/plugins"

say "building the provider and the lab"
go build -o "$state/plugins/terraform-provider-remoteaccess" .
go build -o "$state/remoteaccess-lab" ./internal/lab/cmd/remoteaccess-lab

step="starting the lab"
"$state/remoteaccess-lab" -enforce-revocation -info-file "$state/info.json" -ca-file "$state/ca.pem" \
  >"$state/lab.out" 2>"$state/lab.log" &
lab_pid=$!
say "starting the lab (pid $lab_pid): two emulated Remote Access servers, a directory and an enterprise CA on loopback"
for _ in $(seq 100); do
  [ -s "$state/info.json" ] && break
  kill -0 "$lab_pid" 2>/dev/null || { cat "$state/lab.log" >&2; fail "the lab exited"; }
  sleep 0.1
done
[ -s "$state/info.json" ] || { cat "$state/lab.log" >&2; fail "the lab did not start"; }
# The lab writes its CA certificate for everyone to read, as a certificate may be; the demo keeps all of its files
# private.
chmod 600 "$state/ca.pem"

cat >"$state/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "remoteaccess-iac/remoteaccess" = "$state/plugins"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$state/terraformrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

# once_override_warning passes Terraform's output through, except the development-override warning after its first
# appearance: every command repeats it, and the demo uses a development build on purpose. It ignores Ctrl-C, in a
# subshell of its own, so that an interrupted Terraform can still write what it has to say and save its state.
once_override_warning() (
  trap '' INT TERM
  local line box="" inbox=0
  while IFS= read -r line || [ -n "$line" ]; do
    if [ "$inbox" = 1 ]; then
      box+="$line"$'\n'
      if [[ $line == *╵* ]]; then
        inbox=0
        if [[ $box == *"development overrides"* ]]; then
          if [ -e "$state/override-warned" ]; then box=""; continue; fi
          : >"$state/override-warned"
        fi
        printf '%s' "$box"
        box=""
      fi
    elif [[ $line == *╷* ]]; then
      inbox=1
      box="$line"$'\n'
    else
      printf '%s\n' "$line"
    fi
  done
  printf '%s' "$box"
)

# tf runs Terraform on the demo configuration; its exit code is Terraform's.
tf() { "$terraform_bin" -chdir="$demo" "$@"; }
# run STEP ARGS...: tf with the output filtered, failing the demo with STEP named when Terraform fails.
run() {
  step=$1
  shift
  local rc=0
  tf "$@" 2>&1 | once_override_warning || rc=${PIPESTATUS[0]}
  [ "$rc" -eq 0 ] || fail "$step: terraform $1 exited $rc"
}
# observe EXPECT: reads the account, the connections and the cluster back from the lab and shows them; the observe
# configuration's preconditions fail unless they are what step EXPECT should leave. After the destroy, the lost
# laptop's device tunnel comes back at its next attempt: that step is observed again, a second apart, until it has
# (a generous bound: the lab's clients retry every 2 s).
observe() {
  step="observe $1"
  local rc attempts=1
  [ "$1" = after ] && attempts=60
  while :; do
    rc=0
    "$terraform_bin" -chdir="$demo/observe" apply -auto-approve -input=false -no-color \
      -state="$state/observe.tfstate" -var "expect=$1" >"$state/observe.out" 2>&1 || rc=$?
    attempts=$((attempts - 1))
    if [ "$rc" -eq 0 ] || [ "$attempts" -eq 0 ] || ! grep -q "CLIENT2's device tunnel is down at step after" "$state/observe.out"; then
      break
    fi
    sleep 1
  done
  if [ "$rc" -ne 0 ]; then
    once_override_warning <"$state/observe.out"
    fail "observe $1: what the lab shows is not what this step should leave (terraform exited $rc)"
  fi
  sed -n '/^Outputs:/,$p' "$state/observe.out" | tail -n +3
}

# verify_progress prints one line when the block's verify window opens: once the lab's servers have run the device
# purge, the provider watches them for verify_seconds so that a returning SA is caught before the apply returns.
verify_progress() {
  command -v curl >/dev/null || return 0
  local user pass url
  # JSON escapes the user name as a curl configuration file quotes it ("CORP\\labadmin").
  user=$(sed -n 's/.*"winrm_username": *"\(.*\)",*$/\1/p' "$state/info.json")
  pass=$(sed -n 's/.*"winrm_password": *"\(.*\)",*$/\1/p' "$state/info.json")
  url=$(sed -n 's/.*"status_url": *"\(.*\)",*$/\1/p' "$state/info.json")
  for _ in $(seq 300); do
    if curl -sf --cacert "$state/ca.pem" -K - "$url" 2>/dev/null <<<"user = \"$user:$pass\"" |
      grep -q '"purge-devices/v1"'; then
      echo "   ... CLIENT1 is disabled and purged; the provider now watches the servers for 5 s (verify_seconds) in case its SAs come back"
      return 0
    fi
    sleep 0.2
  done
}

say "the lab before the change: CLIENT1 enabled and connected, RAS2 in rotation with sessions"
observe before

say "terraform apply: block CLIENT1, drain RAS2, hold CLIENT2's certificates (the plan shows the impact of each as warnings)"
verify_progress &
progress_pid=$!
run apply apply -auto-approve -input=false -state="$state/terraform.tfstate"
kill "$progress_pid" 2>/dev/null || true
wait "$progress_pid" 2>/dev/null || true
progress_pid=

say "the lab after the apply: CLIENT1 disabled and blocked in the directory with no connection, RAS2 out of rotation and empty, CLIENT2 enabled with its certificates on hold and its device tunnel gone"
observe blocked

say "terraform plan -detailed-exitcode: nothing left to do (exit code 0)"
step="plan"
rc=0
tf plan -detailed-exitcode -input=false -state="$state/terraform.tfstate" >"$state/plan.out" 2>&1 || rc=$?
once_override_warning <"$state/plan.out" | grep -E 'No changes|Plan:|Error|Warning' || true
[ "$rc" -eq 0 ] || fail "the second plan exited $rc: it wants changes or failed"

say "terraform destroy: the blocks are lifted (CLIENT2's certificates taken off hold) and RAS2 put back into rotation"
run destroy destroy -auto-approve -input=false -state="$state/terraform.tfstate"
[ -z "$(tf state list -state="$state/terraform.tfstate")" ] || fail "destroy left resources in the state"

say "the lab after the destroy, read from the directory, the CA and the cluster: CLIENT1 enabled again, RAS2 in rotation, CLIENT2's device tunnel back"
observe after

step="done"
say "demo complete: every step checked"
