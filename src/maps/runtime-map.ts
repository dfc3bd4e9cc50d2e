// RuntimeMap: the user-facing BpfMap API over a userspace map's MapOps (raw bytes; typed() adds codecs).
import { BpfUpdateFlags } from '../isa/uapi.generated.js';
import type { BpfMap, UpdateMode } from './bpf-map.js';
import { InvalidKeySizeError, InvalidValueSizeError, MapErrno, MapOperationError } from './errors.js';
import { stride8 } from './map-memory.js';
import type { MapOps } from './map-ops.js';

const MODE_FLAGS: Readonly<Record<UpdateMode, number>> = { any: BpfUpdateFlags.ANY, noexist: BpfUpdateFlags.NOEXIST, exist: BpfUpdateFlags.EXIST };

/** The update flags of an UpdateMode (BPF_ANY / BPF_NOEXIST / BPF_EXIST). */
export function updateFlags(mode: UpdateMode): number {
  return MODE_FLAGS[mode];
}

/**
 * A userspace map with the same API as a kernel map (`KernelMap`): keys and values are byte
 * arrays of exactly `keySize` / `valueSize` bytes (wrong sizes throw InvalidKeySizeError /
 * InvalidValueSizeError); failures the kernel reports by errno throw MapOperationError with the
 * same errno (E2BIG on a full map, EEXIST for `noexist` on a present key...). Per-CPU maps have
 * `cpus` slots per key.
 */
export class RuntimeMap implements BpfMap {
  /** Number of CPU slots per value (1 unless per-CPU). */
  readonly cpus: number;

  /** Wraps `ops`; `cpus` is the runtime's CPU count (only per-CPU maps use it; default: the map's own). */
  constructor(
    readonly ops: MapOps,
    cpus = ops.cpus ?? 1,
  ) {
    this.cpus = ops.perCpu ? cpus : 1;
  }

  get name(): string {
    return this.ops.def.name;
  }
  get type(): number {
    return this.ops.def.type;
  }
  get keySize(): number {
    return this.ops.def.keySize;
  }
  get valueSize(): number {
    return this.ops.def.valueSize;
  }
  get maxEntries(): number {
    return this.ops.def.maxEntries;
  }
  get flags(): number {
    return this.ops.def.flags;
  }
  get perCpu(): boolean {
    return this.ops.perCpu;
  }

  private checkKey(key: Uint8Array): void {
    if (key.length !== this.keySize) throw new InvalidKeySizeError(key.length, this.keySize);
  }

  private checkValue(value: Uint8Array): void {
    if (value.length !== this.valueSize) throw new InvalidValueSizeError(value.length, this.valueSize);
  }

  private fail(op: string, rc: number): never {
    throw new MapOperationError(this.name, op, -rc);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.checkKey(key);
    const v = this.ops.read(key);
    if (v === undefined || !this.perCpu) return v;
    return v.slice(0, this.valueSize);
  }

  getPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    this.checkKey(key);
    const v = this.ops.read(key);
    if (v === undefined) return undefined;
    if (!this.perCpu) return [v];
    const stride = stride8(this.valueSize);
    return Array.from({ length: this.cpus }, (_, c) => v.slice(c * stride, c * stride + this.valueSize));
  }

  set(key: Uint8Array, value: Uint8Array, mode: UpdateMode = 'any'): void {
    this.checkValue(value);
    if (this.perCpu) return this.setPerCpu(key, Array.from({ length: this.cpus }, () => value), mode);
    this.checkKey(key);
    const rc = this.ops.write(key, value, MODE_FLAGS[mode]);
    if (rc < 0) this.fail('update', rc);
  }

  setPerCpu(key: Uint8Array, values: readonly Uint8Array[], mode: UpdateMode = 'any'): void {
    this.checkKey(key);
    if (values.length !== this.cpus) throw new MapOperationError(this.name, `update (${values.length} values for ${this.cpus} CPU slots)`, MapErrno.EINVAL);
    for (const v of values) this.checkValue(v);
    let buf: Uint8Array;
    if (this.perCpu) {
      const stride = stride8(this.valueSize);
      buf = new Uint8Array(stride * this.cpus);
      values.forEach((v, c) => buf.set(v, c * stride));
    } else {
      buf = values[0]!;
    }
    const rc = this.ops.write(key, buf, MODE_FLAGS[mode]);
    if (rc < 0) this.fail('update', rc);
  }

  delete(key: Uint8Array): boolean {
    this.checkKey(key);
    const rc = this.ops.delete(key, 0);
    if (rc === -MapErrno.ENOENT) return false;
    if (rc < 0) this.fail('delete', rc);
    return true;
  }

  *keys(): IterableIterator<Uint8Array> {
    for (let k = this.ops.nextKey(undefined); k !== undefined; k = this.ops.nextKey(k)) yield k;
  }

  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const k of this.keys()) {
      const v = this.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  *entriesPerCpu(): IterableIterator<[Uint8Array, Uint8Array[]]> {
    for (const k of this.keys()) {
      const v = this.getPerCpu(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /** Queue / stack / bloom filter: pushes `value` (`flags`: BPF_EXIST overwrites the oldest of a full queue). */
  push(value: Uint8Array, flags = 0): void {
    this.checkValue(value);
    if (!this.ops.push) this.fail('push', -MapErrno.EINVAL);
    const rc = this.ops.push(value, 0, flags);
    if (rc < 0) this.fail('push', rc);
  }

  /** Queue / stack: removes and returns the next value, or undefined when empty. */
  pop(): Uint8Array | undefined {
    return this.take(true);
  }

  /** Queue / stack: the next value without removing it; bloom filter: see `has`. */
  peek(): Uint8Array | undefined {
    return this.take(false);
  }

  private take(remove: boolean): Uint8Array | undefined {
    if (!this.ops.pop) this.fail(remove ? 'pop' : 'peek', -MapErrno.EINVAL);
    const out = new Uint8Array(this.valueSize);
    const rc = this.ops.pop(out, 0, remove);
    if (rc === -MapErrno.ENOENT) return undefined;
    if (rc < 0) this.fail(remove ? 'pop' : 'peek', rc);
    return out;
  }

  /** Bloom filter: whether `value` may be in the set (false: certainly not). */
  has(value: Uint8Array): boolean {
    this.checkValue(value);
    if (!this.ops.pop) this.fail('peek', -MapErrno.EINVAL);
    const probe = value.slice();
    const rc = this.ops.pop(probe, 0, false);
    if (rc === -MapErrno.ENOENT) return false;
    if (rc < 0) this.fail('peek', rc);
    return true;
  }

  /** Number of live entries. */
  get size(): number {
    return this.ops.count();
  }

  /** Removes every entry (arrays: zeroes every value). */
  clear(): void {
    this.ops.clear();
  }
}
