#!/usr/bin/env bash
# Builds the map-family fixtures (*.c -> *.o) with clang-16, reproducibly (compiled from
# this directory with -fdebug-compilation-dir=.). Usage: test/kernel/object/c/build.sh
set -euo pipefail
cd "$(dirname "$0")"
for src in map_families.c arena_map.c map_typedef.c; do
  clang-16 -O2 -g -fdebug-compilation-dir=. -Wall -Werror -target bpf -I/usr/include/x86_64-linux-gnu -c "$src" -o "${src%.c}.o"
done
