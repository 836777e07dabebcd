#!/usr/bin/env bash
# Makes a fresh machine (Node.js 20 + npm only) ready: pnpm, dependencies from the lockfile, a build.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  # corepack fails against this registry; a global npm install of the pinned version works
  # (packageManager is an npm spec, pnpm@X.Y.Z, once any +hash is cut off).
  npm install -g --no-audit --no-fund --loglevel=error "$(node -p 'require("./package.json").packageManager.split("+")[0]')" >/dev/null
fi
# scripts/pnpm.sh runs the pinned version even when another pnpm is on PATH.
bash scripts/pnpm.sh install --frozen-lockfile --reporter=silent
bash scripts/pnpm.sh run --silent build
