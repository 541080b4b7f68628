#!/usr/bin/env bash
# Makes an unsigned snapshot release of .goreleaser.yml for this machine's platform only, publishing nothing, and
# checks what the Terraform registry would receive: the zip named terraform-provider-remoteaccess_VERSION_OS_ARCH.zip
# holding terraform-provider-remoteaccess_vVERSION, the manifest copied as ..._VERSION_manifest.json, and a
# ..._VERSION_SHA256SUMS that lists both with matching sums.
# Usage: tools/release-check.sh GORELEASER_BINARY
set -euo pipefail
goreleaser=$1
cd "$(dirname "$0")/.."

name=terraform-provider-remoteaccess
goos=$(go env GOOS)
goarch=$(go env GOARCH)
config=$(mktemp --suffix=.yml)
trap 'rm -f "$config"' EXIT
# The same configuration with the platform lists narrowed to this one, so that CI builds one binary, not eight.
sed -e "s/^    goos: .*/    goos: [$goos]/" -e "s/^    goarch: .*/    goarch: [$goarch]/" .goreleaser.yml >"$config"
grep -q "goos: \[$goos\]" "$config" && grep -q "goarch: \[$goarch\]" "$config" ||
  { echo "release-check: could not narrow the platforms in .goreleaser.yml" >&2; exit 1; }

"$goreleaser" release --config "$config" --snapshot --clean --skip=publish,sign

fail() { echo "release-check: $*" >&2; exit 1; }
version=$(jq -r .version dist/metadata.json)
[ -n "$version" ] && [ "$version" != null ] || fail "no version in dist/metadata.json"
zip=${name}_${version}_${goos}_${goarch}.zip
sums=${name}_${version}_SHA256SUMS
manifest=${name}_${version}_manifest.json

[ -f "dist/$zip" ] || fail "dist/$zip is missing; dist/ has: $(ls dist)"
unzip -Z1 "dist/$zip" | grep -qx "${name}_v${version}" || fail "$zip does not hold ${name}_v${version}: $(unzip -Z1 "dist/$zip")"
[ -f "dist/$sums" ] || fail "dist/$sums is missing"
# GoReleaser lists the manifest under its release name without copying it into dist/: compare with the source file.
sum_of() { sha256sum "$1" | cut -d' ' -f1; }
for entry in "$zip=dist/$zip" "$manifest=terraform-registry-manifest.json"; do
  listed=${entry%%=*} file=${entry#*=}
  grep -qx "$(sum_of "$file")  $listed" "dist/$sums" || fail "$sums has no matching line for $listed: $(cat "dist/$sums")"
done
[ "$(wc -l <"dist/$sums")" -eq 2 ] || fail "$sums lists more than the zip and the manifest: $(cat "dist/$sums")"

# The binary starts on this platform and answers as a Terraform plugin does when started by hand.
tmp=$(mktemp -d)
trap 'rm -f "$config"; rm -rf "$tmp"' EXIT
unzip -q "dist/$zip" -d "$tmp"
if out=$("$tmp/${name}_v${version}" 2>&1); then fail "the provider binary ran without Terraform and exited 0"; fi
grep -q "plugin" <<<"$out" || fail "the provider binary did not answer as a plugin: $out"
echo "release-check: $zip, $manifest and $sums are as the registry expects"
