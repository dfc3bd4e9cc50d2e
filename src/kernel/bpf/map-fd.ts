// MapFd: a map's fd together with the attributes every element operation checks against.
import { Fd } from '../fd.js';
import type { RawFd, Sys } from '../sys.js';
import { PERCPU_MAP_TYPES } from './constants.js';
import { InvalidArgumentError } from './input-errors.js';
import { MapElemBlock } from './map-elem-block.js';

/** The attributes of a map that element operations need. */
export interface MapAttributes {
  /** `enum bpf_map_type`. */
  readonly type: number;
  /** Key size in bytes (0 for queue/stack). */
  readonly keySize: number;
  /** Value size in bytes, per CPU for per-CPU maps. */
  readonly valueSize: number;
  /** Maximum number of entries. */
  readonly maxEntries: number;
  /** `map_flags`. */
  readonly flags: number;
}

/** An open map: the fd plus its attributes, so sizes are checked before each syscall. */
export class MapFd extends Fd<'map'> {
  /** Type, sizes and flags as the kernel reported or was given them. */
  readonly attributes: MapAttributes;
  #elem: MapElemBlock | undefined;
  #syscallValueSize = -1;
  #elemUses = 0;

  /** Takes ownership of `raw`, a map fd `sys` returned, whose attributes are `attributes`. */
  constructor(sys: Sys, raw: number, attributes: MapAttributes) {
    super(sys, raw, 'map');
    this.attributes = attributes;
  }

  /**
   * The map's element-call block, freed on close: the attrs of lookup, update, delete and
   * get-next-key ready in one block. Undefined on the first element operation (which takes the
   * generic path: creating a block costs a few microseconds, wasted on a map used once); the
   * block is made on the second. Throws FdClosedError after close.
   */
  elemBlock(): MapElemBlock | undefined {
    const elem = this.#elem;
    if (elem !== undefined) return elem; // close() and release() drop it
    const raw = this.raw; // throws FdClosedError once closed
    if (this.#elemUses++ === 0) return undefined;
    this.#elem = new MapElemBlock(this.sys, raw, this.attributes.keySize, this.syscallValueSize());
    return this.#elem;
  }

  /** Closes the fd and frees the element-call block. */
  override close(): void {
    this.#freeElem();
    super.close();
  }

  /** Gives up ownership without closing (see Fd.release); the element-call block is freed. */
  override release(): RawFd {
    const raw = super.release();
    this.#freeElem();
    return raw;
  }

  #freeElem(): void {
    this.#elem?.free();
    this.#elem = undefined;
  }

  /** True for per-CPU map types, whose values hold one padded slot per possible CPU. */
  get perCpu(): boolean {
    return PERCPU_MAP_TYPES.has(this.attributes.type);
  }

  /** The size of a value buffer as syscalls see it: per-CPU maps use `roundup(valueSize, 8) * nCPU`. */
  syscallValueSize(): number {
    if (this.#syscallValueSize < 0) {
      this.#syscallValueSize = this.perCpu ? perCpuStride(this.attributes.valueSize) * possibleCpus(this.sys) : this.attributes.valueSize;
    }
    return this.#syscallValueSize;
  }
}

/** Bytes per CPU slot in a per-CPU value: the value size rounded up to 8. */
export function perCpuStride(valueSize: number): number {
  return (valueSize + 7) & ~7;
}

/** Splits a per-CPU value buffer into one `valueSize`-byte view per possible CPU. */
export function splitPerCpu(bytes: Uint8Array, valueSize: number): Uint8Array[] {
  const stride = perCpuStride(valueSize);
  const out: Uint8Array[] = [];
  for (let at = 0; at + stride <= bytes.length; at += stride) out.push(bytes.subarray(at, at + valueSize));
  return out;
}

/** Packs one `valueSize`-byte value per CPU into the padded buffer per-CPU updates take. */
export function joinPerCpu(values: readonly Uint8Array[], valueSize: number): Uint8Array {
  const stride = perCpuStride(valueSize);
  const out = new Uint8Array(stride * values.length);
  values.forEach((v, i) => {
    if (v.length !== valueSize) throw new InvalidArgumentError(`per-CPU value ${i}`, `is ${v.length} bytes, expected ${valueSize}`);
    out.set(v, i * stride);
  });
  return out;
}

/**
 * Parses a CPU list as sysfs prints it (`0-3,5,7-9`) into the number of CPUs it names.
 */
export function parseCpuList(text: string): number {
  let count = 0;
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new InvalidArgumentError('CPU list', `cannot parse "${text.trim()}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new InvalidArgumentError('CPU list', `range ${part} is backwards`);
    count += hi - lo + 1;
  }
  if (count === 0) throw new InvalidArgumentError('CPU list', 'is empty');
  return count;
}

const cpuCache = new WeakMap<Sys, number>();

/** The number of possible CPUs (`/sys/devices/system/cpu/possible`), read once per Sys. */
export function possibleCpus(sys: Sys): number {
  let n = cpuCache.get(sys);
  if (n === undefined) {
    n = parseCpuList(new TextDecoder().decode(sys.readFile('/sys/devices/system/cpu/possible')));
    cpuCache.set(sys, n);
  }
  return n;
}
