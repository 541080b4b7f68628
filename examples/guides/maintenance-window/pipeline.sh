#!/usr/bin/env bash
# A maintenance window as a CI job: drain NODE, patch it, put it back. Run as `pipeline.sh RAS2`; the WinRM password
# comes from the pipeline's secret store in REMOTEACCESS_WINRM_PASSWORD. Every step stops the job on failure and
# says what state the window is in: a drained node stays drained until a person (or a rerun) decides.
set -euo pipefail
node=${1:?usage: pipeline.sh NODE}
export TF_IN_AUTOMATION=1 TF_INPUT=0

terraform init
terraform workspace select -or-create "window-$node"

# 1. Drain. If the apply fails halfway, the drain is in the state with drained = false: rerunning the job completes
#    it in place (the node is never put back in between).
terraform apply -auto-approve -var "node=$node"

# 2. Gate: the drain must be complete. -detailed-exitcode: 0 = nothing to do (drained), 2 = changes pending
#    (the drain is incomplete), 1 = error.
rc=0
terraform plan -detailed-exitcode -var "node=$node" || rc=$?
if [ "$rc" -ne 0 ]; then
  echo "the drain of $node is not complete (plan exit $rc): not patching; rerun the job or inspect the node" >&2
  exit 1
fi

# 3. The maintenance itself (your patching tool). When it fails the job stops here and the node stays out of
#    rotation, serving nobody: fix the node, then rerun the job from step 4 with RESUME_ONLY=1.
if [ -z "${RESUME_ONLY:-}" ]; then
  ./patch-node.sh "$node"
fi

# 4. Put the node back. Destroy resumes and starts the node and waits until it converged; if it fails, the drain
#    stays in the state and a rerun of this step retries.
terraform destroy -auto-approve -var "node=$node"
terraform workspace select default
terraform workspace delete "window-$node"
