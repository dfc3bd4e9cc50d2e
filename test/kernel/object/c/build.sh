#!/usr/bin/env bash
# Builds the map fixtures (*.c -> *.o) with clang-16, reproducibly (compiled from
# this directory with -fdebug-compilation-dir=.). Usage: test/kernel/object/c/build.sh
set -euo pipefail
cd "$(dirname "$0")"
CC=(clang-16 -O2 -fdebug-compilation-dir=. -Wall -Werror -target bpf -I/usr/include/x86_64-linux-gnu)
for src in map_families.c arena_map.c map_typedef.c iproute2_maps.c; do
  "${CC[@]}" -g -c "$src" -o "${src%.c}.o"
done
# iproute2_maps without BTF (legacy layout by position) and as BTF-defined maps (the libbpf reference).
"${CC[@]}" -c iproute2_maps.c -o iproute2_maps_nobtf.o
"${CC[@]}" -g -DBTF_MAPS -c iproute2_maps.c -o iproute2_maps_btf.o
