#!/usr/bin/env bash
# House rule: no line of source, tests, bench, scripts or examples is longer than 120 characters.
# Lists every longer line as `file:line: N characters` and exits 1 if there is any.
# Usage: scripts/line-length.sh [max]   (from anywhere: it checks the repository it is in)
set -euo pipefail
export LC_ALL=C.UTF-8 # count characters, not bytes (`→` is one)

max="${1:-120}"
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dirs=()
for d in src test bench scripts examples bin; do
  if [ -d "$d" ]; then dirs+=("$d"); fi
done

long=$(
  # test/conformance/reference-server: vendored as is from the conformance suite (its own formatting)
  find "${dirs[@]}" \( -name node_modules -o -name dist -o -path test/conformance/reference-server \) -prune \
    -o -type f \
    \( -name '*.ts' -o -name '*.mjs' -o -name '*.js' -o -name '*.cjs' -o -name '*.sh' \) -print0 |
    sort -z | xargs -0 -r grep -nH -E ".{$((max + 1)),}" || true
)
[ -z "$long" ] && exit 0

while IFS= read -r hit; do
  file=${hit%%:*}
  rest=${hit#*:}
  line=${rest%%:*}
  text=${rest#*:}
  echo "$file:$line: ${#text} characters"
done <<<"$long"
echo "lines over $max characters: wrap them (comments onto more lines, strings with + concatenation)" >&2
exit 1
