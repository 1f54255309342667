#!/usr/bin/env bash
# `npm test`: the whole suite, from a fresh clone too. Setup is idempotent (a no-op when done):
# Node 24, npm dependencies, the Docker engine and the base images the integration tests use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh --quiet
# The registry the swarm --registry test pushes to (from Debian packages; skipped when built).
bash scripts/images/build.sh --quiet test-registry
export PATH="$PWD/.tools/bin:$PATH"
npm run -s build
exec node node_modules/vitest/vitest.mjs run "$@"
