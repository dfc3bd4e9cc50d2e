// Batch map operations: lookup, lookup-and-delete, update and delete of many elements per syscall.
import { MAP_BATCH_ATTR } from '../bpf-attr.generated.js';
import { Errno } from '../errno.js';
import { isErrno } from '../kernel-error.js';
import { StructReader, StructWriter } from '../struct-codec.js';
import { BpfCmd } from './constants.js';
import { InvalidArgumentError, InvalidKeySizeError, InvalidValueSizeError } from './input-errors.js';
import type { MapFd } from './map-fd.js';

/**
 * Where a batch walk stands. Opaque: the kernel's token (a bucket index for hash maps, a key
 * for arrays). Pass the `next` of one result to the following call.
 */
export interface BatchCursor {
  /** The kernel's opaque position. */
  readonly token: Uint8Array;
}

/** One batch of elements read from a map. */
export interface BatchResult {
  /** Keys read (copies). */
  readonly keys: Uint8Array[];
  /** Values read, same order (per-CPU maps: the padded per-CPU buffer). */
  readonly values: Uint8Array[];
  /** Cursor for the next batch, or undefined when the walk reached the end. */
  readonly next: BatchCursor | undefined;
}

function tokenSize(map: MapFd): number {
  // Hash maps use a u32 bucket index, generic (array) maps a key; 8 covers small keys safely.
  return Math.max(map.attributes.keySize, 8);
}

function readBatch(map: MapFd, cmd: number, maxCount: number, cursor: BatchCursor | undefined, elemFlags: number): BatchResult {
  if (!Number.isInteger(maxCount) || maxCount <= 0) throw new InvalidArgumentError('batch count', `${maxCount} must be a positive integer`);
  const { keySize } = map.attributes;
  const valueSize = map.syscallValueSize();
  const keys = new Uint8Array(keySize * maxCount);
  const values = new Uint8Array(valueSize * maxCount);
  const outToken = new Uint8Array(tokenSize(map));
  const attr = new StructWriter(MAP_BATCH_ATTR)
    .u32('map_fd', map.raw)
    .u32('count', maxCount)
    .u64('elem_flags', elemFlags)
    .ptr('out_batch', outToken, 'out')
    .ptr('keys', keys, 'out')
    .ptr('values', values, 'out');
  if (cursor) attr.ptr('in_batch', cursor.token);
  let done = false;
  try {
    map.sys.bpf(cmd, attr.bytes, attr.pointers);
  } catch (err) {
    // ENOENT: the walk reached the end; `count` still says how many were copied.
    if (!isErrno(err, Errno.ENOENT)) throw err;
    done = true;
  }
  const count = new StructReader(MAP_BATCH_ATTR, attr.bytes).u32('count');
  const out: BatchResult = { keys: [], values: [], next: done ? undefined : { token: outToken } };
  for (let i = 0; i < count; i++) {
    out.keys.push(keys.slice(i * keySize, (i + 1) * keySize));
    out.values.push(values.slice(i * valueSize, (i + 1) * valueSize));
  }
  return out;
}

/** Reads up to `maxCount` elements starting at `cursor` (the beginning when undefined). */
export function lookupBatch(map: MapFd, maxCount: number, cursor?: BatchCursor, elemFlags = 0): BatchResult {
  return readBatch(map, BpfCmd.MAP_LOOKUP_BATCH, maxCount, cursor, elemFlags);
}

/** Like {@link lookupBatch}, deleting what it returns. */
export function lookupAndDeleteBatch(map: MapFd, maxCount: number, cursor?: BatchCursor, elemFlags = 0): BatchResult {
  return readBatch(map, BpfCmd.MAP_LOOKUP_AND_DELETE_BATCH, maxCount, cursor, elemFlags);
}

function packKeys(map: MapFd, keys: readonly Uint8Array[]): Uint8Array {
  const { keySize } = map.attributes;
  const out = new Uint8Array(keySize * keys.length);
  keys.forEach((k, i) => {
    if (k.length !== keySize) throw new InvalidKeySizeError(k.length, keySize).withContext(`key ${i}`);
    out.set(k, i * keySize);
  });
  return out;
}

/**
 * Writes `values[i]` at `keys[i]` for every i. Returns how many were written (on a failure
 * part-way, the thrown KernelError is all there is; elements before it were written).
 */
export function updateBatch(map: MapFd, keys: readonly Uint8Array[], values: readonly Uint8Array[], elemFlags = 0): number {
  if (keys.length !== values.length) throw new InvalidArgumentError('update batch', `${keys.length} keys but ${values.length} values`);
  if (keys.length === 0) return 0;
  const valueSize = map.syscallValueSize();
  const packedValues = new Uint8Array(valueSize * values.length);
  values.forEach((v, i) => {
    if (v.length !== valueSize) throw new InvalidValueSizeError(v.length, valueSize).withContext(`value ${i}`);
    packedValues.set(v, i * valueSize);
  });
  const attr = new StructWriter(MAP_BATCH_ATTR)
    .u32('map_fd', map.raw)
    .u32('count', keys.length)
    .u64('elem_flags', elemFlags)
    .ptr('keys', packKeys(map, keys))
    .ptr('values', packedValues);
  map.sys.bpf(BpfCmd.MAP_UPDATE_BATCH, attr.bytes, attr.pointers);
  return new StructReader(MAP_BATCH_ATTR, attr.bytes).u32('count');
}

/** Deletes every key in `keys`; returns how many were deleted (stops at the first absent key: ENOENT). */
export function deleteBatch(map: MapFd, keys: readonly Uint8Array[], elemFlags = 0): number {
  if (keys.length === 0) return 0;
  const attr = new StructWriter(MAP_BATCH_ATTR)
    .u32('map_fd', map.raw)
    .u32('count', keys.length)
    .u64('elem_flags', elemFlags)
    .ptr('keys', packKeys(map, keys));
  map.sys.bpf(BpfCmd.MAP_DELETE_BATCH, attr.bytes, attr.pointers);
  return new StructReader(MAP_BATCH_ATTR, attr.bytes).u32('count');
}
