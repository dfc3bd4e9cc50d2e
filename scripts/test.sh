#!/usr/bin/env bash
# Runs the test suite with Node's built-in runner (Node 20 has no glob support in --test).
# Usage: scripts/test.sh [path-filter]   e.g. scripts/test.sh test/isa
set -euo pipefail
cd "$(dirname "$0")/.."
root="${1:-test}"
mapfile -t files < <(find "$root" -name '*.test.ts' -not -path '*/fixtures/*' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files under $root" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-2}" "${files[@]}"
