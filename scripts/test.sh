#!/usr/bin/env bash
# What `npm test` runs: install missing Debian packages the tests need, type-check,
# then run tap over test/**/*.test.ts (or the files given as arguments), with the
# TAP output also written to test-output/tap.txt. Exits with tap's exit code.
#
#   npm test                         # everything
#   npm test -- test/foo.test.ts     # selected files
#   SKIP_APT=1 npm test              # never touch apt
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the test suite uses: a real browser, real Redis and PostgreSQL servers
# (tests start their own on loopback; see test/helpers/db-servers.ts).
DEB_PACKAGES=(chromium redis-server postgresql)

deb_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

install_deb_packages() {
  if [[ "${SKIP_APT:-}" == 1 ]]; then
    echo "test.sh: SKIP_APT=1, not checking Debian packages" >&2
    return 0
  fi
  if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "test.sh: not a Debian system, not installing ${DEB_PACKAGES[*]}" >&2
    return 0
  fi
  local missing=() pkg
  for pkg in "${DEB_PACKAGES[@]}"; do
    deb_installed "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0

  local sudo=()
  if ((EUID != 0)); then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "test.sh: missing ${missing[*]} and not root: tests that need them may fail" >&2
      return 0
    fi
  fi
  echo "test.sh: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

install_deb_packages

export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
# tap's TypeScript loader (ts-node) needs TypeScript 5; `tsc` itself is TypeScript 7.
export TS_NODE_COMPILER="${TS_NODE_COMPILER:-typescript5}"

echo "test.sh: type-checking" >&2
npx tsc --noEmit
# House rules: Biome (format, 120 columns, lint) and the import layering (.dependency-cruiser.cjs,
# docs/ARCHITECTURE.md "Layers"). A failure fails `npm test`, after the tests have run.
echo "test.sh: lint (biome, dependency-cruiser)" >&2
lint_status=0
npm run --silent lint || lint_status=$?
# The CLI tests run bin/ with plain Node, as users do: compile src/ to dist/ first.
echo "test.sh: building dist/" >&2
npm run --silent build

# The MCP conformance suite needs Node >= 22: install it (and the suite) into a cache now, not
# under tap's timeout. A failure here shows again, as a failing test/conformance/ test.
echo "test.sh: MCP conformance suite (Node 22, scripts/conformance-env.mjs)" >&2
node scripts/conformance-env.mjs >/dev/null || echo "test.sh: could not install the conformance suite" >&2

if (($# == 0)); then
  set -- 'test/**/*.test.ts' # quoted: tap expands the glob (recursively)
fi

mkdir -p test-output
set +e
npx tap --allow-incomplete-coverage --timeout=180 --reporter=tap "$@" 2>&1 | tee test-output/tap.txt
status=${PIPESTATUS[0]}
set -e
if ((lint_status != 0)); then
  echo "test.sh: lint failed (npm run lint): see above" >&2
  ((status == 0)) && status=$lint_status
fi
exit "$status"
