#!/usr/bin/env bash
# Builds the BPF test fixtures (test/fixtures/*.c -> *.o) and their golden outputs.
#
# Usage: scripts/build-fixtures.sh [--golden] [--out-dir DIR]
#   (no flag)      compile every fixture into test/fixtures/*.o, copy xdp_stats to
#                  examples/, and regenerate test/fixtures/golden/*
#   --golden       only regenerate the golden files from the committed .o files
#   --out-dir DIR  build everything (objects and goldens) into DIR instead, from a copy of
#                  the sources; the repository is not touched (used by the up-to-date test)
#
# Objects are byte-for-byte reproducible for one clang version: sources are compiled from
# their own directory with -fdebug-compilation-dir=. so no absolute path ends up in DWARF/BTF.
# A different clang (even another 16.x build) may produce different bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

CLANG="${CLANG:-clang-16}"
OBJDUMP="${OBJDUMP:-llvm-objdump-16}"
BPFTOOL="${BPFTOOL:-bpftool}"
CFLAGS_COMMON=(-O2 -g -fdebug-compilation-dir=. -Wall -Werror
  -I/usr/include/x86_64-linux-gnu)

# name | target | extra flags. Keep in sync with the fixture list in test/support/fixtures.ts
# (listFixtures() reads the directory, so only the build recipe lives here).
FIXTURES=(
  "xdp_stats|bpf|"
  "xdp_stats.bpfeb|bpfeb|"
  "tc_flow_filter|bpf|"
  "subprogs_globals|bpf|"
  "tail_calls|bpf|"
  "lpm_trie|bpf|"
  "ringbuf|bpf|"
  "maps_zoo|bpf|"
  "legacy_maps|bpf|"
  "socket_filter|bpf|"
  "atomics_alu|bpf|-mcpu=v3"
  "core_kfunc|bpf|"
  "raw_insns|bpf|-mcpu=v3"
  "subprog_order|bpf|"
  "legacy_sections|bpf|"
)
# Fixtures built with cpu v3 get extra goldens disassembled with --mattr=+alu32: without it
# llvm-objdump-16 prints <unknown> for 32-bit atomics (w registers).
ALU32_GOLDEN=(atomics_alu raw_insns)

mode=build
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --golden) mode=golden ;;
    --out-dir) out="${2:?--out-dir needs a directory}"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-fixtures: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

for tool in "$CLANG" "$OBJDUMP" "$BPFTOOL"; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-fixtures: $tool not found (apt-get install clang-16 llvm-16 bpftool libbpf-dev)" >&2
    exit 1
  fi
done
if [ ! -f /usr/include/bpf/bpf_helpers.h ]; then
  echo "build-fixtures: /usr/include/bpf/bpf_helpers.h missing (apt-get install libbpf-dev)" >&2
  exit 1
fi

src="$repo/test/fixtures"
if [ -n "$out" ]; then
  mkdir -p "$out"
  dir="$(cd "$out" && pwd)"
  cp "$src"/*.c "$dir"/
  mode=build
else
  dir="$src"
fi
mkdir -p "$dir/golden"

# source file of a fixture name: xdp_stats.bpfeb -> xdp_stats.c
source_of() { echo "${1%%.*}.c"; }

build_one() {
  local name="$1" target="$2" extra="$3"
  local flags=("${CFLAGS_COMMON[@]}" -target "$target")
  if [ -n "$extra" ]; then
    read -r -a more <<<"$extra"
    flags+=("${more[@]}")
  fi
  (cd "$dir" && "$CLANG" "${flags[@]}" -c "$(source_of "$name")" -o "$name.o")
}

golden_one() {
  local name="$1" g="golden/$1"
  (
    cd "$dir"
    "$OBJDUMP" -d "$name.o" >"$g.objdump-d.txt"
    "$OBJDUMP" -d -S "$name.o" >"$g.objdump-S.txt"
    "$OBJDUMP" -dr "$name.o" >"$g.objdump-dr.txt"
    "$BPFTOOL" btf dump file "$name.o" >"$g.btf.txt"
    for a in "${ALU32_GOLDEN[@]}"; do
      if [ "$a" = "$name" ]; then
        "$OBJDUMP" -d --mattr=+alu32 "$name.o" >"$g.objdump-d-alu32.txt"
        "$OBJDUMP" -d -S --mattr=+alu32 "$name.o" >"$g.objdump-S-alu32.txt"
        "$OBJDUMP" -dr --mattr=+alu32 "$name.o" >"$g.objdump-dr-alu32.txt"
      fi
    done
  )
}

for entry in "${FIXTURES[@]}"; do
  IFS='|' read -r name target extra <<<"$entry"
  if [ "$mode" = build ]; then
    build_one "$name" "$target" "$extra"
  fi
  golden_one "$name"
done

if [ -z "$out" ] && [ "$mode" = build ]; then
  # The README demo's bundled object: the same source, built the same way.
  cp "$src/xdp_stats.c" "$repo/examples/xdp_stats.c"
  cp "$src/xdp_stats.o" "$repo/examples/xdp_stats.o"
fi
echo "build-fixtures: ${#FIXTURES[@]} fixtures ($mode) in ${dir#"$repo"/}"
