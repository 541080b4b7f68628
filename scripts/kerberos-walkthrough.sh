#!/usr/bin/env bash
# kerberos-walkthrough.sh: the Kerberos walkthrough of the authentication guide (docs/guides/authentication.md),
# performed step by step against a Samba AD domain controller and the lab, then the wrong steps the guide warns about,
# each checked to fail with the error the guide quotes. The guide's code blocks are copied from this script, and a
# test (TestAccKerberosWalkthrough) runs it and checks that they still are.
#
#   scripts/samba-ad.sh up /tmp/dc 127.0.0.20
#   TERRAFORM=/path/to/terraform scripts/kerberos-walkthrough.sh /tmp/dc /tmp/walkthrough
#   scripts/samba-ad.sh down /tmp/dc
#
# The lab stands in for the Remote Access servers; it has no KDC, so it points at the Samba domain
# (external_directory) and accepts that domain's tickets for the servers' service principal. Its WinRM account must
# then be a domain account (svc-remoteaccess), not the lab's local labadmin: Kerberos only knows domain accounts.
set -euo pipefail
umask 077
repo=$(cd "$(dirname "$0")/.." && pwd)
dc_dir=$(cd "${1:?usage: kerberos-walkthrough.sh SAMBA_DIR WORK_DIR}" && pwd)
work=${2:?usage: kerberos-walkthrough.sh SAMBA_DIR WORK_DIR}
terraform_bin=${TERRAFORM:-terraform}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cd "$work"

eval "$("$repo/scripts/samba-ad.sh" facts "$dc_dir")" # SAMBA_URL, SAMBA_REALM, SAMBA_ADMIN_UPN, ...
kdc=${SAMBA_URL#ldaps://}
samba_tool() { samba-tool "$@" -s "$dc_dir/etc/smb.conf"; }
step() { printf '\n== %s\n' "$*"; }
lab_pid=
cleanup() {
  if [ -n "$lab_pid" ]; then kill "$lab_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

step "1. The servers' keys: each server's computer account (a domain member has them by joining; the lab needs a keytab)"
# WinRM runs as NetworkService: it decrypts tickets with the keys of the server's computer account.
samba_tool domain exportkeytab servers.keytab --principal='RAS1$'
samba_tool domain exportkeytab servers.keytab --principal='RAS2$'

step "2. The servers: the lab pointed at the domain, with a domain account for WinRM"
ca_pem_json=$(sed ':a;N;$!ba;s/\n/\\n/g' "$SAMBA_CA_CERT")
cat >lab.json <<EOF
{
  "cluster_seed": "$repo/internal/provider/testdata/cluster-samba.json",
  "external_directory": {
    "url": "$SAMBA_URL",
    "ca_cert_pem": "$ca_pem_json",
    "bind_username": "$SAMBA_ADMIN_UPN",
    "bind_password": "$SAMBA_ADMIN_PASSWORD"
  },
  "kerberos": {"keytab": "$work/servers.keytab", "realm": "$SAMBA_REALM", "computer_accounts": true},
  "username": "svc-remoteaccess",
  "password": "Svc!Passw0rd-RA1"
}
EOF
go build -C "$repo" -o "$work/remoteaccess-lab" ./internal/lab/cmd/remoteaccess-lab
./remoteaccess-lab -config lab.json -info-file lab-info.json -ca-file lab-ca.pem >lab.out 2>lab.log &
lab_pid=$!
for _ in $(seq 100); do [ -s lab-info.json ] && break; sleep 0.1; done
[ -s lab-info.json ] || { cat lab.log >&2; echo "the lab did not start" >&2; exit 1; }
winrm_port=$(sed -n 's/.*"winrm_port": *\([0-9]*\).*/\1/p' lab-info.json)
servers=$(sed -n '/"server_addresses"/,/]/p' lab-info.json | grep -o '"127[^"]*"' | paste -sd, -)
read -r ras1_address ras2_address <<<"$(tr -d '"' <<<"$servers" | tr , ' ')"

step "3. Each server's own name, on its computer account"
# A server listed by its DNS name needs nothing: its computer account holds HOST/ras1.samba.test, and HTTP/ maps to
# HOST/. The lab's servers have loopback addresses for names, which no account holds yet: register each on its
# server's computer account (never on a user account).
samba_tool spn add "HTTP/$ras1_address" 'RAS1$'
samba_tool spn add "HTTP/$ras2_address" 'RAS2$'
samba_tool spn list 'RAS1$'

step "4. Terraform's side: the realm and its KDC (krb5.conf)"
cat >krb5.conf <<EOF
[libdefaults]
  default_realm    = SAMBA.TEST
  dns_lookup_kdc   = false
  dns_lookup_realm = false

[realms]
  SAMBA.TEST = {
    kdc = ${kdc}
  }

[domain_realm]
  .samba.test = SAMBA.TEST
EOF

step "5. Terraform's account: a keytab with its keys"
samba_tool domain exportkeytab svc-remoteaccess.keytab --principal=svc-remoteaccess@SAMBA.TEST

step "6. The provider configuration"
mkdir -p config
# The configuration below is the guide's; only the lab's addresses and port are variables here.
cat >config/main.tf <<'EOF'
terraform {
  required_providers {
    remoteaccess = {
      source = "remoteaccess-iac/remoteaccess"
    }
  }
}

variable "servers" { type = list(string) }
variable "winrm_port" { type = number }
variable "spn" {
  type    = string
  default = null # HTTP/<server>: each server's own name
}
variable "keytab" {
  type    = string
  default = "../svc-remoteaccess.keytab"
}
variable "realm" {
  type    = string
  default = "SAMBA.TEST"
}
variable "ldap_url" { type = string }
variable "ldap_bind_username" { type = string }

provider "remoteaccess" {
  servers             = var.servers
  protected_computers = ["RAS1", "RAS2"]

  winrm {
    port           = var.winrm_port
    ca_certificate = file("../lab-ca.pem")
    username       = "SAMBATEST\\svc-remoteaccess"
    auth           = "kerberos"
    kerberos {
      realm     = var.realm
      krb5_conf = "../krb5.conf"
      keytab    = var.keytab
      spn       = var.spn
    }
  }

  ldap {
    urls           = [var.ldap_url]
    ca_certificate = file("../samba-ca.pem")
    bind_username  = var.ldap_bind_username
    # REMOTEACCESS_LDAP_BIND_PASSWORD supplies the password.
  }
}

resource "remoteaccess_blocked_user" "alice" {
  user_name = "alice"
  reason    = "Kerberos walkthrough"
}
EOF
cp "$SAMBA_CA_CERT" samba-ca.pem
cat >terraformrc <<EOF
provider_installation {
  dev_overrides {
    "remoteaccess-iac/remoteaccess" = "$work/plugins"
  }
  direct {}
}
EOF
go build -C "$repo" -o "$work/plugins/terraform-provider-remoteaccess" .
export TF_CLI_CONFIG_FILE=$work/terraformrc CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1
export REMOTEACCESS_LDAP_BIND_PASSWORD='Svc!Passw0rd-RA1'
tf() {
  "$terraform_bin" -chdir=config "$@" -no-color -input=false -var "servers=[$servers]" -var "winrm_port=$winrm_port" \
    -var "ldap_url=$SAMBA_URL" -var "ldap_bind_username=svc-remoteaccess@SAMBA.TEST"
}

# expect_failure WHAT MESSAGE ARGS...: an apply with one wrong step fails, says MESSAGE, and blocks nobody.
expect_failure() {
  local what=$1 message=$2 out rc=0
  shift 2
  out=$(tf apply -auto-approve -state="$work/wrong.tfstate" "$@" 2>&1) || rc=$?
  if [ "$rc" -eq 0 ]; then
    tf destroy -auto-approve -state="$work/wrong.tfstate" >/dev/null 2>&1 || true
    echo "wrong step \"$what\" did not fail" >&2
    exit 1
  fi
  # Terraform wraps long lines: compare with the lines joined again.
  local flat before
  flat=$(tr -s ' \n' '  ' <<<"$out")
  if [[ $flat != *"$message"* ]]; then
    printf 'wrong step "%s" failed without saying "%s":\n%s\n' "$what" "$message" "$out" >&2
    exit 1
  fi
  before=${flat%%"$message"*}
  echo "wrong step \"$what\": ...${before: -160}$message..."
}

step "7. The LDAP account: svc-remoteaccess, allowed to write only what a block writes"
# Without rights on the users, the apply fails at the first write, after every check, and changes nothing.
expect_failure "an LDAP account without delegated rights" "Insufficient Access Rights"
# The Delegation of Control wizard, or dsacls ... /I:S /G "SAMBATEST\svc-remoteaccess:WP;userAccountControl;user",
# writes these ACEs: write property (WP) of userAccountControl, info and description, inherited (CIIO) by user objects.
sid=$(samba_tool user show svc-remoteaccess --attributes=objectSid | sed -n 's/^objectSid: //p')
user_class=bf967aba-0de6-11d0-a285-00aa003049e2
for attribute in bf967a68-0de6-11d0-a285-00aa003049e2 bf96793e-0de6-11d0-a285-00aa003049e2 \
  bf967950-0de6-11d0-a285-00aa003049e2; do # userAccountControl, info, description
  samba_tool dsacl set --objectdn="CN=Users,DC=samba,DC=test" --sddl="(OA;CIIO;WP;$attribute;$user_class;$sid)"
done

step "8. The first apply: alice is blocked over Kerberos"
tf apply -auto-approve -state="$work/walkthrough.tfstate"
kerberos_logons=$(curl -sf --cacert lab-ca.pem -K - "$(sed -n 's/.*"status_url": *"\(.*\)".*/\1/p' lab-info.json)" \
  <<<'user = "svc-remoteaccess:Svc!Passw0rd-RA1"' | grep -o '"kerberos_logons": *[0-9]*' | grep -c -v ': *0$' || true)
[ "$kerberos_logons" -ge 2 ] || { echo "the lab's servers counted no Kerberos logon on $((2 - kerberos_logons)) server(s)" >&2; exit 1; }
tf destroy -auto-approve -state="$work/walkthrough.tfstate"
echo "walkthrough: both servers logged the provider on with Kerberos; alice was blocked and unblocked"

step "9. Wrong steps, and the errors they give"
expect_failure "an SPN nobody registered" "KDC_ERR_S_PRINCIPAL_UNKNOWN" -var "spn=HTTP/nowhere.samba.test"
# An alias registered on a user account: the KDC encrypts the ticket with that user's keys, which no server holds.
samba_tool user create svc-ras-http 'Ras!Http-Passw0rd-1' >/dev/null
samba_tool spn add HTTP/ras.samba.test svc-ras-http
expect_failure "an alias SPN on a user account" "HTTP 401 Unauthorized" -var "spn=HTTP/ras.samba.test"
expect_failure "the keytab of another account" 'matching key not found in keytab. Looking for "svc-remoteaccess"' -var "keytab=../servers.keytab"
expect_failure "a realm krb5.conf does not list" "no KDCs defined in configuration for realm CORP.EXAMPLE" -var "realm=CORP.EXAMPLE"
samba_tool user setpassword svc-remoteaccess --newpassword='Svc!Passw0rd-RA2' >/dev/null
export REMOTEACCESS_LDAP_BIND_PASSWORD='Svc!Passw0rd-RA2' # LDAP binds with the new password; the keytab is stale
expect_failure "a keytab older than the account's password" "KDC_ERR_PREAUTH_FAILED"
echo "walkthrough complete"
