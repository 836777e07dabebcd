#!/usr/bin/env bash
# Makes a fresh machine (Node.js 20 + npm only) ready: pnpm, dependencies from the lockfile, a build.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v pnpm >/dev/null 2>&1; then
  # corepack fails against this registry; a global npm install of pnpm 10 works.
  npm install -g pnpm@10 >/dev/null
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm run --silent build
