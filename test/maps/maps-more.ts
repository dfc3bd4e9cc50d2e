// The maps_more fixture (test/maps/c/maps_more.c): one map of each family libbpf creates specially, compiled once per run.
import path from 'node:path';
import { compileBpf } from '../support/clang.js';

/** Path of the fixture's C source. */
export const MAPS_MORE_SOURCE = path.join(import.meta.dirname, 'c', 'maps_more.c');
let built: Uint8Array | undefined;

/** The fixture object (compiled with clang-16 on first use). */
export function mapsMoreObject(): Uint8Array {
  return (built ??= compileBpf(MAPS_MORE_SOURCE));
}
