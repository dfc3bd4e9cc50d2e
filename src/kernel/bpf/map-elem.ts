// Map element operations: lookup, update, delete, get-next-key, lookup-and-delete, freeze (hot ones through the map's call block).
import { channel } from 'node:diagnostics_channel';
import { MAP_ELEM_ATTR } from '../bpf-attr.generated.js';
import { Errno } from '../errno.js';
import { KernelError, kernelError } from '../kernel-error.js';
import { StructWriter } from '../struct-codec.js';
import { BpfCmd, bpfCmdName, UpdateFlags } from './constants.js';
import { InvalidArgumentError, InvalidKeySizeError, InvalidValueSizeError } from './input-errors.js';
import { joinPerCpu, perCpuStride, type MapFd } from './map-fd.js';

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
 * One element command through the generic `Sys.bpf` path (an attr built for this call): the
 * first operation on a map goes this way, so a map used once (a global-data fill at load, a CLI
 * lookup) never pays for a call block. Returns the result or -errno.
 */
function genericElem(map: MapFd, cmd: number, key: Uint8Array | undefined, value: Uint8Array | undefined, flags: number, next?: Uint8Array): number {
  const attr = elemAttr(map);
  if (key !== undefined) attr.ptr('key', key);
  if (value !== undefined) attr.ptr('value', value, cmd === BpfCmd.MAP_UPDATE_ELEM ? 'in' : 'out');
  if (next !== undefined) attr.ptr('next_key', next, 'out');
  if (flags !== 0) attr.u64('flags', flags);
  const sys = map.sys;
  if (sys.tryBpf) return sys.tryBpf(cmd, attr.bytes, attr.pointers);
  try {
    return sys.bpf(cmd, attr.bytes, attr.pointers);
  } catch (err) {
    if (err instanceof KernelError) return -err.errno;
    throw err;
  }
}

/** The KernelError for a failed element command (the op string is built only here, on failure). */
function elemError(cmd: number, errno: number): KernelError {
  if (errno === Errno.EPERM && cmd === BpfCmd.MAP_UPDATE_ELEM) {
    return kernelError(`bpf(${bpfCmdName(cmd)})`, errno, { hint: 'the map is frozen (BPF_MAP_FREEZE) or read-only for user space (BPF_F_RDONLY)' });
  }
  return kernelError(`bpf(${bpfCmdName(cmd)})`, errno);
}

/**
 * Looks `key` up. Returns a copy of the value (per-CPU maps: one padded slot per possible CPU,
 * see `splitPerCpu`) or undefined when the key is absent. `flags`: UpdateFlags.F_LOCK.
 *
 * From the second element operation on a map on, one syscall through the map's element-call
 * block (see MapElemBlock): no attr is built and, with the real Sys, nothing is marshalled.
 */
export function lookupElem(map: MapFd, key: Uint8Array, flags = 0): Uint8Array | undefined {
  return lookupElemPrefix(map, key, -1, flags);
}

/**
 * {@link lookupElem} returning only the first `length` bytes of the value (-1: all of it); for
 * a per-CPU map's first CPU without copying the others.
 */
export function lookupElemPrefix(map: MapFd, key: Uint8Array, length: number, flags = 0): Uint8Array | undefined {
  checkKey(map, key);
  const block = map.elemBlock();
  if (block === undefined) {
    const value = new Uint8Array(map.syscallValueSize());
    const r = genericElem(map, BpfCmd.MAP_LOOKUP_ELEM, key, value, flags);
    if (r < 0) {
      if (r === -Errno.ENOENT) return undefined;
      throw elemError(BpfCmd.MAP_LOOKUP_ELEM, -r);
    }
    return length < 0 ? value : value.slice(0, length);
  }
  const r = block.lookup(BpfCmd.MAP_LOOKUP_ELEM, key, flags);
  if (r < 0) {
    if (r === -Errno.ENOENT) return undefined;
    throw elemError(BpfCmd.MAP_LOOKUP_ELEM, -r);
  }
  return block.value(length < 0 ? block.valueSize : length);
}

/**
 * {@link lookupElem} into the caller's buffer `out` (the syscall value size: per-CPU maps
 * every CPU's padded slot), allocating nothing: true when found, false (and `out` untouched)
 * when the key is absent. For loops that read the same map again and again.
 */
export function lookupElemInto(map: MapFd, key: Uint8Array, out: Uint8Array, flags = 0): boolean {
  checkKey(map, key);
  if (out.length !== map.syscallValueSize()) throw new InvalidValueSizeError(out.length, map.syscallValueSize());
  const block = map.elemBlock();
  if (block === undefined) {
    const value = new Uint8Array(out.length);
    const r = genericElem(map, BpfCmd.MAP_LOOKUP_ELEM, key, value, flags);
    if (r < 0) {
      if (r === -Errno.ENOENT) return false;
      throw elemError(BpfCmd.MAP_LOOKUP_ELEM, -r);
    }
    out.set(value);
    return true;
  }
  const r = block.lookup(BpfCmd.MAP_LOOKUP_ELEM, key, flags);
  if (r < 0) {
    if (r === -Errno.ENOENT) return false;
    throw elemError(BpfCmd.MAP_LOOKUP_ELEM, -r);
  }
  block.valueInto(out);
  return true;
}

/**
 * Writes `value` at `key`. `flags`: UpdateFlags.ANY (default), NOEXIST (fails with EEXIST if
 * present), EXIST (fails with ENOENT if absent), optionally | F_LOCK.
 */
export function updateElem(map: MapFd, key: Uint8Array, value: Uint8Array, flags: number = UpdateFlags.ANY): void {
  checkKey(map, key);
  checkValue(map, value);
  const block = map.elemBlock();
  const r = block === undefined ? genericElem(map, BpfCmd.MAP_UPDATE_ELEM, key, value, flags) : block.update(key, value, flags);
  if (r < 0) throw elemError(BpfCmd.MAP_UPDATE_ELEM, -r);
  if (mapUpdateChannel.hasSubscribers) mapUpdateChannel.publish({ fd: map.raw, type: map.attributes.type, key, value, flags });
}

/**
 * Writes the per-CPU map entry `key` with `value` (one CPU's `valueSize` bytes) on every possible
 * CPU, without building the padded all-CPU buffer. A map that is not per-CPU gets `value` as is.
 */
export function updateElemAllCpus(map: MapFd, key: Uint8Array, value: Uint8Array, flags: number = UpdateFlags.ANY): void {
  if (!map.perCpu) return updateElem(map, key, value, flags);
  checkKey(map, key);
  if (value.length !== map.attributes.valueSize) throw new InvalidValueSizeError(value.length, map.attributes.valueSize);
  const stride = perCpuStride(map.attributes.valueSize);
  const slots = map.syscallValueSize() / stride;
  const block = map.elemBlock();
  if (block === undefined) return updateElem(map, key, joinPerCpu(Array.from({ length: slots }, () => value), map.attributes.valueSize), flags);
  const r = block.updateRepeated(key, value, slots, stride, flags);
  if (r < 0) throw elemError(BpfCmd.MAP_UPDATE_ELEM, -r);
  if (mapUpdateChannel.hasSubscribers) {
    mapUpdateChannel.publish({ fd: map.raw, type: map.attributes.type, key, value: block.value(), flags });
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
  const block = map.elemBlock();
  const r = block === undefined ? genericElem(map, BpfCmd.MAP_DELETE_ELEM, key, undefined, 0) : block.delete(key);
  if (r >= 0) return true;
  if (r === -Errno.ENOENT) return false;
  throw elemError(BpfCmd.MAP_DELETE_ELEM, -r);
}

/** The key after `key` (the first key when `key` is undefined), or undefined at the end. */
export function nextKey(map: MapFd, key?: Uint8Array): Uint8Array | undefined {
  if (key !== undefined) checkKey(map, key);
  const block = map.elemBlock();
  if (block === undefined) {
    const next = new Uint8Array(map.attributes.keySize);
    const r = genericElem(map, BpfCmd.MAP_GET_NEXT_KEY, key, undefined, 0, next);
    if (r >= 0) return next;
    if (r === -Errno.ENOENT) return undefined;
    throw elemError(BpfCmd.MAP_GET_NEXT_KEY, -r);
  }
  const r = block.next(key);
  if (r >= 0) return block.nextKey();
  if (r === -Errno.ENOENT) return undefined;
  throw elemError(BpfCmd.MAP_GET_NEXT_KEY, -r);
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
  const block = map.elemBlock();
  if (block === undefined) {
    const value = new Uint8Array(map.syscallValueSize());
    const r = genericElem(map, BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, key, value, flags);
    if (r >= 0) return value;
    if (r === -Errno.ENOENT) return undefined;
    throw elemError(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, -r);
  }
  const r = block.lookup(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, key, flags);
  if (r >= 0) return block.value();
  if (r === -Errno.ENOENT) return undefined;
  throw elemError(BpfCmd.MAP_LOOKUP_AND_DELETE_ELEM, -r);
}

/** Freezes the map: from now on user space cannot write it (programs still can). */
export function freezeMap(map: MapFd): void {
  const attr = elemAttr(map);
  map.sys.bpf(BpfCmd.MAP_FREEZE, attr.bytes, attr.pointers);
}
