// Pinning by name: reuse a compatible pinned map, refuse an incompatible one, and remove pins on rollback.
import { unlinkSync } from 'node:fs';
import type { MapSpec } from '../../elf/object-spec.js';
import { Errno } from '../errno.js';
import { isErrno } from '../kernel-error.js';
import type { MapFd } from '../bpf/map-fd.js';
import { mapInfo } from '../bpf/obj-info.js';
import { openPinnedMap } from '../bpf/obj-pin.js';
import type { Sys } from '../sys.js';
import { PinMismatchError } from './errors.js';
import { BpfMapFlags, BpfMapType } from '../../isa/uapi.generated.js';

const BPF_F_RDONLY_PROG = BpfMapFlags.RDONLY_PROG;

/** libbpf's default pin root for LIBBPF_PIN_BY_NAME maps. */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf';

/** The map pinned at `path`, or undefined when nothing is pinned there. */
export function openExistingPin(sys: Sys, path: string): MapFd | undefined {
  try {
    return openPinnedMap(sys, path);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
}

/**
 * Checks that the map pinned at `path` matches `spec` (libbpf's map_is_reuse_compat: type,
 * key/value size, max_entries, flags, map_extra); throws {@link PinMismatchError} listing the
 * differences. `maxEntries` is the value the loader would create the map with.
 */
export function checkPinCompatible(fd: MapFd, spec: MapSpec, maxEntries: number, path: string): void {
  const info = mapInfo(fd);
  const diffs: string[] = [];
  const cmp = (field: string, have: number | bigint, want: number | bigint) => {
    if (BigInt(have) !== BigInt(want)) diffs.push(`${field}: pinned ${have} vs object ${want}`);
  };
  cmp('type', info.type, spec.type);
  cmp('key_size', info.keySize, spec.keySize);
  cmp('value_size', info.valueSize, spec.valueSize);
  cmp('max_entries', info.maxEntries, maxEntries);
  // The kernel sets BPF_F_RDONLY_PROG on every devmap itself (dev_map_alloc); libbpf's
  // map_is_reuse_compat clears it before comparing, or no pinned devmap could be reused.
  const devmap = spec.type === BpfMapType.DEVMAP || spec.type === BpfMapType.DEVMAP_HASH;
  cmp('map_flags', devmap ? info.flags & ~BPF_F_RDONLY_PROG : info.flags, devmap ? spec.flags & ~BPF_F_RDONLY_PROG : spec.flags);
  cmp('map_extra', info.mapExtra, spec.mapExtra ?? 0);
  if (diffs.length > 0) throw new PinMismatchError(path, spec.name, diffs);
}

/**
 * Removes a pin this process created (rollback after a failed load, `bpfkit` cleanup). Sys has no
 * unlink(2) yet, so this is the one place the loader uses node:fs directly.
 */
export function removePin(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to roll back.
  }
}
