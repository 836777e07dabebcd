#!/usr/bin/env bash
# Runs the pnpm version pinned by package.json's packageManager field: the pnpm on PATH when it is
# that version, otherwise a copy installed once under .tools/, so another pnpm on PATH (a global
# install of another version) is left alone and never used here.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want="$(node -p 'require(process.argv[1]).packageManager.match(/^pnpm@([0-9][^+]*)/)[1]' "$root/package.json")"
have="$(pnpm --version 2>/dev/null || true)"
if [ "$have" = "$want" ]; then exec pnpm "$@"; fi
pinned="$root/.tools/pnpm-$want/node_modules/.bin/pnpm"
if [ ! -x "$pinned" ]; then
  echo "pnpm.sh: package.json pins pnpm $want, the pnpm on PATH is ${have:-none}: installing $want under .tools/" >&2
  npm install --prefix "$root/.tools/pnpm-$want" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "pnpm@$want" >/dev/null
fi
exec "$pinned" "$@"
