#!/usr/bin/env bash
# check-ps.sh [FILE...] - syntax-check PowerShell scripts with tools/psparse (tree-sitter PowerShell grammar).
# Without arguments it checks every script the provider sends: internal/remoteaccess/scripts/*.ps1 and internal/winrm/*.ps1.
# Installs the checker's pinned npm packages (package-lock.json) on first use.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
checker="$root/tools/psparse"

if [ ! -d "$checker/node_modules/web-tree-sitter" ]; then
  npm ci --prefix "$checker" --no-audit --no-fund --ignore-scripts >&2
fi

if [ "$#" -eq 0 ]; then
  shopt -s nullglob
  set -- "$root"/internal/remoteaccess/scripts/*.ps1 "$root"/internal/winrm/*.ps1
  if [ "$#" -eq 0 ]; then
    echo "check-ps.sh: no .ps1 files found" >&2
    exit 2
  fi
fi

exec node "$checker/check.mjs" "$@"
