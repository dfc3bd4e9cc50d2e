// Map element operations: lookup, update, delete, get-next-key, lookup-and-delete, freeze.
import { channel } from 'node:diagnostics_channel';
import { MAP_ELEM_ATTR } from '../bpf-attr.generated.js';
import { Errno } from '../errno.js';
import { isErrno, kernelError } from '../kernel-error.js';
import { StructWriter } from '../struct-codec.js';
import { BpfCmd, bpfCmdName, UpdateFlags } from './constants.js';
import { InvalidArgumentError, InvalidKeySizeError, InvalidValueSizeError } from './input-errors.js';
import type { MapFd } from './map-fd.js';

function checkKey(map: MapFd, key: Uint8Array): void {
  if (key.length !== map.attributes.keySize) throw new InvalidKeySizeError(key.length, map.attributes.keySize);
}

function checkValue(map: MapFd, value: Uint8Array): void {
  const expected = map.syscallValueSize();
  if (value.length !== expected) throw new InvalidValueSizeError(value.length, expected);
}

function elemAttr(map: MapFd): StructWriter<typeof MAP_ELEM_ATTR> {
  return new StructWriter(MAP_ELEM_ATTR).u32('map_fd', map.raw);
}

/**
 * Looks `key` up. Returns a copy of the value (per-CPU maps: one padded slot per possible CPU,
 * see `splitPerCpu`) or undefined when the key is absent. `flags`: UpdateFlags.F_LOCK.
 */
export function lookupElem(map: MapFd, key: Uint8Array, flags = 0): Uint8Array | undefined {
  checkKey(map, key);
  const value = new Uint8Array(map.syscallValueSize());
  const attr = elemAttr(map).ptr('key', key).ptr('value', value, 'out').u64('flags', flags);
  if (map.sys.tryBpf) {
    const r = map.sys.tryBpf(BpfCmd.MAP_LOOKUP_ELEM, attr.bytes, attr.pointers);
    if (r === -Errno.ENOENT) return undefined;
    if (r < 0) throw kernelError(`bpf(${bpfCmdName(BpfCmd.MAP_LOOKUP_ELEM)})`, -r);
    return value;
  }
  try {
    map.sys.bpf(BpfCmd.MAP_LOOKUP_ELEM, attr.bytes, attr.pointers);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
  return value;
}

/**
 * Writes `value` at `key`. `flags`: UpdateFlags.ANY (default), NOEXIST (fails with EEXIST if
 * present), EXIST (fails with ENOENT if absent), optionally | F_LOCK.
 */
export function updateElem(map: MapFd, key: Uint8Array, value: Uint8Array, flags: number = UpdateFlags.ANY): void {
  checkKey(map, key);
  checkValue(map, value);
  const attr = elemAttr(map).ptr('key', key).ptr('value', value).u64('flags', flags);
  try {
    map.sys.bpf(BpfCmd.MAP_UPDATE_ELEM, attr.bytes, attr.pointers);
    if (mapUpdateChannel.hasSubscribers) mapUpdateChannel.publish({ fd: map.raw, type: map.attributes.type, key, value, flags });
  } catch (err) {
    if (isErrno(err, Errno.EPERM)) {
      throw kernelError(err.op, err.errno, { cause: err, hint: 'the map is frozen (BPF_MAP_FREEZE) or read-only for user space (BPF_F_RDONLY)' });
    }
    throw err;
  }
}

/**
 * Tracing for users (`node:diagnostics_channel`): `bpfkit:map:update` gets
 * `{ fd, type, key, value, flags }` after each successful update from user space.
 */
export const mapUpdateChannel = channel('bpfkit:map:update');

/** Deletes `key`; returns false when it was not there. */
export function deleteElem(map: MapFd, key: Uint8Array): boolean {
  checkKey(map, key);
  const attr = elemAttr(map).ptr('key', key);
  try {
    map.sys.bpf(BpfCmd.MAP_DELETE_ELEM, attr.bytes, attr.pointers);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return false;
    throw err;
  }
  return true;
}

/** The key after `key` (the first key when `key` is undefined), or undefined at the end. */
export function nextKey(map: MapFd, key?: Uint8Array): Uint8Array | undefined {
  if (key !== undefined) checkKey(map, key);
  const next = new Uint8Array(map.attributes.keySize);
  const attr = elemAttr(map).ptr('next_key', next, 'out');
  if (key !== undefined) attr.ptr('key', key);
  try {
    map.sys.bpf(BpfCmd.MAP_GET_NEXT_KEY, attr.bytes, attr.pointers);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
  return next;
}

/** Iterates over all keys with get-next-key (a concurrent delete may restart a hash walk). */
export function* keys(map: MapFd): Generator<Uint8Array> {
  for (let k = nextKey(map); k !== undefined; k = nextKey(map, k)) yield k;
}

/**
 * Looks up and deletes `key` in one step (hash maps since 5.14; queue/stack maps pop with an
 * empty key). Returns the value, or undefined when absent/empty.
 */
export function lookupAndDeleteElem(map: MapFd, key: Uint8Array, flags = 0): Uint8Array | undefined {
  if (map.attributes.keySize === 0 && key.length !== 0) throw new InvalidArgumentError('key', 'queue/stack maps take an empty key');
  checkKey(map, key);
  const value = new Uint8Array(map.syscallValueSize());
  const attr = elemAttr(map).ptr('key', key).ptr('value', value, 'out').u64('flags', flags);
  try {
    map.sys.bpf(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, attr.bytes, attr.pointers);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
  return value;
}

/** Freezes the map: from now on user space cannot write it (programs still can). */
export function freezeMap(map: MapFd): void {
  const attr = elemAttr(map);
  map.sys.bpf(BpfCmd.MAP_FREEZE, attr.bytes, attr.pointers);
}
