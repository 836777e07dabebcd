#!/usr/bin/env bash
# Makes a fresh machine (Node.js 20 + npm only) ready: pnpm, dependencies from the lockfile, a build.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
want="$(node -p 'require("./package.json").packageManager.match(/^pnpm@([0-9][^+]*)/)[1]')"
if ! command -v pnpm >/dev/null 2>&1; then
  # corepack fails against this registry; a global npm install of the pinned version works.
  npm install -g --no-audit --no-fund --loglevel=error "pnpm@$want" >/dev/null
fi
# scripts/pnpm.sh runs the pinned version even when another pnpm is on PATH.
bash scripts/pnpm.sh install --frozen-lockfile --reporter=silent
bash scripts/pnpm.sh run --silent build
