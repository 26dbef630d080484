#!/usr/bin/env bash
# Build and pack ajax-reauth, install the tarball into examples/vitest-axios, run its tests.
# Needs only the npm registry (the example's vitest, axios and msw).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
example="$root/examples/vitest-axios"

cd "$root"
[ "${SKIP_BUILD:-}" = 1 ] || npm run build
rm -f ajax-reauth-*.tgz
# --ignore-scripts: dist/ is built above (or by the caller); prepack would build it again.
tarball="$(npm pack --ignore-scripts --silent | tail -n 1)"
# The example's package.json names the tarball by version: keep them in step.
expected="$(node -p "require('$example/package.json').dependencies['ajax-reauth'].replace('file:../../', '')")"
if [ "$tarball" != "$expected" ]; then
  echo "examples/vitest-axios depends on $expected but npm pack wrote $tarball" >&2
  exit 1
fi

cd "$example"
rm -rf node_modules/ajax-reauth   # same version, new build: never reuse the old copy
npm install --no-package-lock --no-audit --no-fund
npx tsc --noEmit -p .
npm test
