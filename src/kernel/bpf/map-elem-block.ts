// MapElemBlock: one call block per open map holding ready-made element attrs, so a lookup/update/delete is one syscall and two copies.
import { MAP_ELEM_ATTR } from '../bpf-attr.generated.js';
import type { BpfCallBlock, Sys } from '../sys.js';
import { bpfCallBlock, CallBlockFreedError } from './call-block.js';
import { BpfCmd } from './constants.js';
import { InvalidArgumentError } from './input-errors.js';

const ATTR = MAP_ELEM_ATTR.size; // 32
const KEY = MAP_ELEM_ATTR.fields.key.offset;
const VALUE = MAP_ELEM_ATTR.fields.value.offset;
const NEXT_KEY = MAP_ELEM_ATTR.fields.next_key.offset;
const FLAGS = MAP_ELEM_ATTR.fields.flags.offset;

// Four attrs, each with the map fd written once. The kernel wants the bytes past a command's
// last field zero (CHECK_ATTR), so each command shape gets its own attr instead of rewriting one:
const KV_ATTR = 0; //        key, value, flags: lookup, update, lookup-and-delete
const K_ATTR = ATTR; //      key only: delete
const KN_ATTR = 2 * ATTR; // key, next_key: get-next-key
const N_ATTR = 3 * ATTR; //  next_key only (NULL key): the first key
const AREAS = 4 * ATTR;

const align8 = (n: number): number => (n + 7) & ~7;

/**
 * The element-operation attrs of one map, laid out once in a {@link BpfCallBlock} with their
 * key, value and next-key areas. Methods return the kernel's result or -errno and allocate
 * nothing but the copies they return. Owned by a MapFd, freed when it closes.
 */
export class MapElemBlock {
  readonly #block: BpfCallBlock;
  #bytes: Uint8Array;
  #freed = false;
  #flags = 0; // what the KV attr's flags field holds
  #view: DataView;
  #valueView: Uint8Array;
  #nextView: Uint8Array;
  readonly #keyAt: number;
  readonly #valueAt: number;
  readonly #nextAt: number;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size as syscalls see it (per-CPU maps: every CPU's padded slot). */
  readonly valueSize: number;

  /** Lays the attrs out for map `fd` (keys of `keySize`, values of `valueSize` syscall bytes). */
  constructor(sys: Sys, fd: number, keySize: number, valueSize: number) {
    this.keySize = keySize;
    this.valueSize = valueSize;
    this.#keyAt = AREAS;
    this.#valueAt = this.#keyAt + align8(keySize);
    this.#nextAt = this.#valueAt + align8(valueSize);
    const block = bpfCallBlock(sys, this.#nextAt + Math.max(8, align8(keySize)));
    this.#block = block;
    this.#bytes = block.bytes;
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    this.#valueView = this.#bytes.subarray(this.#valueAt, this.#valueAt + valueSize);
    this.#nextView = this.#bytes.subarray(this.#nextAt, this.#nextAt + keySize);
    for (const at of [KV_ATTR, K_ATTR, KN_ATTR, N_ATTR]) this.#view.setUint32(at, fd, true);
    block.point(KV_ATTR + KEY, this.#keyAt, keySize);
    block.point(KV_ATTR + VALUE, this.#valueAt, valueSize);
    block.point(K_ATTR + KEY, this.#keyAt, keySize);
    block.point(KN_ATTR + KEY, this.#keyAt, keySize);
    block.point(KN_ATTR + NEXT_KEY, this.#nextAt, keySize);
    block.point(N_ATTR + NEXT_KEY, this.#nextAt, keySize);
  }

  /** True once freed. */
  get freed(): boolean {
    return this.#freed;
  }

  #setFlags(flags: number): void {
    if (flags === this.#flags) return; // the attr still holds them
    if (!Number.isSafeInteger(flags) || flags < 0) throw new InvalidArgumentError('flags', `${flags} is not a u64`);
    this.#flags = flags;
    this.#view.setUint32(KV_ATTR + FLAGS, flags >>> 0, true);
    this.#view.setUint32(KV_ATTR + FLAGS + 4, Math.floor(flags / 0x1_0000_0000) >>> 0, true);
  }

  #check(): void {
    if (this.#freed) throw new CallBlockFreedError();
  }

  /** Copies `key` into the key area (a loop for the usual small keys: cheaper than set()). */
  #putKey(key: Uint8Array): void {
    const bytes = this.#bytes;
    const at = this.#keyAt;
    if (key.length <= 8) {
      for (let i = 0; i < key.length; i++) bytes[at + i] = key[i]!;
    } else {
      bytes.set(key, at);
    }
  }

  /**
   * `cmd` (lookup, lookup-and-delete) on `key` with `flags`: the value lands in the block, read
   * it with {@link value}. Returns the result or -errno.
   */
  lookup(cmd: number, key: Uint8Array, flags: number): number {
    this.#check();
    this.#putKey(key);
    this.#setFlags(flags);
    return this.#block.call(cmd, KV_ATTR, ATTR);
  }

  /** A copy of the first `length` bytes of the value area (default: all of it). */
  value(length: number = this.valueSize): Uint8Array {
    this.#check();
    // The copy constructor is the cheapest copy out of the (external) block memory.
    return new Uint8Array(length === this.valueSize ? this.#valueView : this.#valueView.subarray(0, length));
  }

  /** Copies the value area into `out` (exactly {@link valueSize} bytes, checked by the caller). */
  valueInto(out: Uint8Array): void {
    this.#check();
    out.set(this.#valueView);
  }

  /** BPF_MAP_UPDATE_ELEM of `key` to `value` (syscall-sized). Returns the result or -errno. */
  update(key: Uint8Array, value: Uint8Array, flags: number): number {
    this.#check();
    this.#putKey(key);
    this.#bytes.set(value, this.#valueAt);
    this.#setFlags(flags);
    return this.#block.call(BpfCmd.MAP_UPDATE_ELEM, KV_ATTR, ATTR);
  }

  /**
   * BPF_MAP_UPDATE_ELEM of `key` to `value` on each of `slots` CPU slots of `stride` bytes (a
   * per-CPU map set to one value everywhere), padding zeroed. Returns the result or -errno.
   */
  updateRepeated(key: Uint8Array, value: Uint8Array, slots: number, stride: number, flags: number): number {
    this.#check();
    const bytes = this.#bytes;
    bytes.set(key, this.#keyAt);
    for (let i = 0, at = this.#valueAt; i < slots; i++, at += stride) {
      bytes.set(value, at);
      if (value.length < stride) bytes.fill(0, at + value.length, at + stride);
    }
    this.#setFlags(flags);
    return this.#block.call(BpfCmd.MAP_UPDATE_ELEM, KV_ATTR, ATTR);
  }

  /** BPF_MAP_DELETE_ELEM of `key`. Returns the result or -errno. */
  delete(key: Uint8Array): number {
    this.#check();
    this.#putKey(key);
    return this.#block.call(BpfCmd.MAP_DELETE_ELEM, K_ATTR, ATTR);
  }

  /**
   * BPF_MAP_GET_NEXT_KEY after `key` (undefined: the first key); read the answer with
   * {@link nextKey}. Returns the result or -errno.
   */
  next(key: Uint8Array | undefined): number {
    this.#check();
    if (key === undefined) return this.#block.call(BpfCmd.MAP_GET_NEXT_KEY, N_ATTR, ATTR);
    this.#putKey(key);
    return this.#block.call(BpfCmd.MAP_GET_NEXT_KEY, KN_ATTR, ATTR);
  }

  /** A copy of the key the last {@link next} found. */
  nextKey(): Uint8Array {
    this.#check();
    return new Uint8Array(this.#nextView);
  }

  /** Frees the block; later calls throw {@link CallBlockFreedError}. */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    this.#bytes = this.#valueView = this.#nextView = new Uint8Array(0);
    this.#view = new DataView(this.#bytes.buffer);
    this.#block.free();
  }
}
