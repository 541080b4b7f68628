#!/usr/bin/env bash
# check-ps.sh [FILE...] - check PowerShell scripts on their syntax tree with tools/psparse (tree-sitter PowerShell
# grammar): syntax errors, Windows PowerShell 5.1 syntax only, no text run as code, and no wildcard or regex
# comparison in scripts that select SAs or connections (the rules are listed in tools/psparse/check.mjs).
# Without arguments it checks every script the provider sends or ships: internal/remoteaccess/scripts/*.ps1,
# internal/ca/scripts/*.ps1, the helpers they include (internal/remoteaccess/scripts/include/*.ps1,
# internal/ca/scripts/include/*.ps1; a helper is held to the rules of a script that selects SAs), internal/winrm/*.ps1
# and scripts/*.ps1.
# Installs the checker's pinned npm packages (package-lock.json) on first use.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
checker="$root/tools/psparse"

if [ ! -d "$checker/node_modules/web-tree-sitter" ]; then
  npm ci --prefix "$checker" --no-audit --no-fund --ignore-scripts >&2
fi

if [ "$#" -eq 0 ]; then
  shopt -s nullglob
  set -- "$root"/internal/remoteaccess/scripts/*.ps1 "$root"/internal/remoteaccess/scripts/include/*.ps1 \
    "$root"/internal/ca/scripts/*.ps1 "$root"/internal/ca/scripts/include/*.ps1 "$root"/internal/winrm/*.ps1 \
    "$root"/scripts/*.ps1
  if [ "$#" -eq 0 ]; then
    echo "check-ps.sh: no .ps1 files found" >&2
    exit 2
  fi
fi

exec node "$checker/check.mjs" "$@"
