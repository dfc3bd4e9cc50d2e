// The virtual address space of one program instance: named regions, 64-bit pointers, checked access.
//
// Pointer layout. A pointer is a plain 64-bit register value:
//
//    63            32 31                    0
//   +----------------+-----------------------+
//   | TAG_BASE + id  |  offset in the memory |
//   +----------------+-----------------------+
//
// The high word names the region (region `id` has tag TAG_BASE + id), the low word is the byte's
// offset in the shared WebAssembly.Memory. Translating is one table lookup and two compares, and
// the low word is directly usable by Wasm code. Because every region has its own tag, pointer
// arithmetic that walks off one region never lands in another: the tag still names the first
// region, whose bounds reject it. NULL and small integers have tag 0, which names nothing.

import { type AccessKind, MemoryFault, type FaultReason } from './errors.js';
import { LinearMemory, RESERVED_LOW } from './memory.js';
import { NotSupportedError } from '../errors.js';

/** High word of region 0's pointers. */
export const TAG_BASE = 0x100;

const TWO32 = 4294967296;

/** What a region holds; decides nothing by itself, but names it in faults and lets layers find it. */
export type RegionKind = 'ctx' | 'packet' | 'stack' | 'map' | 'global' | 'other';

/**
 * Memory offset of the region-table header the JIT reads (see `AddressSpace.enableRegionTable`):
 * word 0 holds the table's memory offset, word 1 its capacity in entries. It lies in the reserved
 * low bytes of the memory, which no region ever covers.
 */
export const REGION_TABLE_HEADER = 0;
/**
 * Bytes per region-table entry, as little-endian int32: window start, read limit (the window
 * end, or the start when loads must go through the region's load hook), write limit (the window
 * end, or the start when read-only) and the region's load-cell directory (0 = none; see
 * `AddressSpace.loadCell`). An access of `size` bytes at offset `lo` passes when
 * start <= lo <= limit - size, unsigned; unused ids have start 0xffffffff and limits 0, which
 * nothing passes.
 */
export const REGION_ENTRY_SIZE = 16;
const FIRST_TABLE_AT = 64;

/** Region flag: stores allowed. */
export const REGION_WRITABLE = 1;
/** Region flag: loads go through the region's load hook first (context field rewriting). */
export const REGION_HOOKED = 2;

/**
 * A hook serving loads from a region instead of memory, as the kernel's context access
 * rewriting does (`xdp_md.data` loads become the 64-bit packet pointer). Gets the offset in the
 * region's window and the size; writes the value to out[0] (lo) and out[1] (hi) and returns
 * true, or returns false to read memory as usual.
 */
export type LoadHook = (offset: number, size: number, out: Int32Array) => boolean;

/** Options for `AddressSpace.addRegion`. */
export interface RegionOptions {
  /** What the region holds (default 'other'). */
  kind?: RegionKind;
  /** Whether stores are allowed (default true). */
  writable?: boolean;
  /** Initial contents, copied to the start of the window. */
  init?: Uint8Array;
  /** Bytes reserved before the window (e.g. packet headroom), reachable by moving the window. */
  before?: number;
  /** Bytes reserved after the window (e.g. packet tailroom). */
  after?: number;
  /** Alignment of the block in memory (default 16). */
  align?: number;
}

/** A block of the address space. Its accessible window can move within the block (packet adjust). */
export class Region {
  constructor(
    private readonly space: AddressSpace,
    /** Index in the address space; the pointer tag is TAG_BASE + id. */
    readonly id: number,
    /** Name used in faults: `stack[0]`, `packet`, `map:counters`. */
    readonly name: string,
    /** What the region holds. */
    readonly kind: RegionKind,
    /** Offset in memory of the whole block (window plus reserved room). */
    readonly base: number,
    /** Size of the whole block. */
    readonly capacity: number,
  ) {}

  /** Memory offset of the first accessible byte. */
  get start(): number {
    return this.space.starts[this.id]!;
  }
  /** Memory offset one past the last accessible byte. */
  get end(): number {
    return this.space.ends[this.id]!;
  }
  /** Size of the accessible window. */
  get size(): number {
    return this.end - this.start;
  }
  /** Whether stores are allowed. */
  get writable(): boolean {
    return (this.space.flags[this.id]! & REGION_WRITABLE) !== 0;
  }
  /** The virtual address of `offset` bytes into the window, as a number (exact: < 2^53). */
  address(offset = 0): number {
    return (TAG_BASE + this.id) * TWO32 + this.start + offset;
  }
  /** The accessible bytes, a live view into memory (re-fetch after anything that may allocate). */
  bytes(): Uint8Array {
    return this.space.memory.bytes.subarray(this.start, this.end);
  }
  /** The whole block including reserved room. */
  blockBytes(): Uint8Array {
    return this.space.memory.bytes.subarray(this.base, this.base + this.capacity);
  }
  /** Moves the accessible window to [base + from, base + to) within the block. */
  setWindow(from: number, to: number): void {
    if (!(0 <= from && from <= to && to <= this.capacity)) throw new RangeError(`window [${from}, ${to}) outside the ${this.capacity}-byte block of "${this.name}"`);
    this.space.starts[this.id] = this.base + from;
    this.space.ends[this.id] = this.base + to;
    this.space.syncRegion(this.id);
  }
}

/**
 * The address space of one program instance: every region lives in one LinearMemory and is
 * reached only through checked 64-bit pointers. Region tables are flat typed arrays the
 * interpreter reads directly (`starts`, `ends`, `flags`); they may be replaced when regions are
 * added, so holders re-read them after anything that may add a region.
 */
export class AddressSpace {
  /** The memory all regions live in. */
  readonly memory: LinearMemory;
  /** The regions, by id. */
  readonly regions: Region[] = [];
  /** Window start (memory offset) per region id. */
  starts: Float64Array = new Float64Array(16);
  /** Window end per region id. */
  ends: Float64Array = new Float64Array(16);
  /** REGION_* flags per region id. */
  flags: Uint8Array = new Uint8Array(16);
  /** Load hooks per region id (only for REGION_HOOKED regions). */
  hooks: (LoadHook | undefined)[] = [];

  constructor(memory: LinearMemory = new LinearMemory()) {
    this.memory = memory;
  }

  /** Adds a region with a `size`-byte window and returns it. */
  addRegion(name: string, size: number, options: RegionOptions = {}): Region {
    const before = options.before ?? 0;
    const capacity = before + size + (options.after ?? 0);
    const base = this.memory.alloc(Math.max(capacity, 1), options.align ?? 16);
    const id = this.regions.length;
    if (id >= this.starts.length) this.growTables();
    const region = new Region(this, id, name, options.kind ?? 'other', base, capacity);
    this.regions.push(region);
    this.starts[id] = base + before;
    this.ends[id] = base + before + size;
    this.flags[id] = options.writable === false ? 0 : REGION_WRITABLE;
    this.hooks[id] = undefined;
    if (options.init) this.memory.bytes.set(options.init.subarray(0, size), base + before);
    if (this.tableAt >= 0) {
      if (id >= this.tableCap) this.moveTable(this.tableCap * 2);
      this.syncRegion(id);
    }
    return region;
  }

  private tableAt = -1;
  private tableCap = 0;

  /**
   * Keeps a copy of the region tables in the memory itself, where compiled (Wasm) code reads
   * them at access time: the header at REGION_TABLE_HEADER gives the table's offset and
   * capacity, entry `id` (REGION_ENTRY_SIZE bytes) describes region `id`. Updated by every change
   * of a window, a hook or a flag. Idempotent; throws NotSupportedError when another address
   * space already keeps its table in the same memory.
   */
  enableRegionTable(): void {
    if (this.tableAt >= 0) return;
    const owner = this.memory.regionTableOwner;
    if (owner !== undefined && owner !== this) throw new NotSupportedError('two address spaces with region tables in one memory', undefined, 'give each address space its own LinearMemory');
    this.memory.regionTableOwner = this;
    this.tableAt = FIRST_TABLE_AT;
    this.tableCap = (RESERVED_LOW - FIRST_TABLE_AT) / REGION_ENTRY_SIZE;
    if (this.regions.length > this.tableCap) this.moveTable(this.regions.length * 2);
    this.writeHeader();
    this.fillTable();
  }

  private moveTable(cap: number): void {
    this.tableAt = this.memory.alloc(cap * REGION_ENTRY_SIZE, 16);
    this.tableCap = cap;
    this.writeHeader();
    this.fillTable();
  }

  /** Writes every entry: the regions', and for unused ids one that rejects every access (start 0xffffffff, limits 0). */
  private fillTable(): void {
    for (let id = 0; id < this.tableCap; id++) {
      if (id < this.regions.length) this.syncRegion(id);
      else {
        const at = this.tableAt + id * REGION_ENTRY_SIZE;
        const v = this.memory.view;
        v.setInt32(at, -1, true);
        v.setInt32(at + 4, 0, true);
        v.setInt32(at + 8, 0, true);
        v.setInt32(at + 12, 0, true);
      }
    }
  }

  private writeHeader(): void {
    this.memory.view.setInt32(REGION_TABLE_HEADER, this.tableAt, true);
    this.memory.view.setInt32(REGION_TABLE_HEADER + 4, this.tableCap, true);
  }

  /** Rewrites region `id`'s entry of the in-memory table (when enabled); called on every change. */
  syncRegion(id: number): void {
    if (this.tableAt < 0 || id >= this.tableCap) return;
    const v = this.memory.view;
    const at = this.tableAt + id * REGION_ENTRY_SIZE;
    const f = this.flags[id]!;
    const end = this.ends[id]!;
    const start = this.starts[id]!;
    v.setInt32(at, start, true);
    v.setInt32(at + 4, (f & REGION_HOOKED) !== 0 ? start : end, true);
    v.setInt32(at + 8, (f & REGION_WRITABLE) !== 0 ? end : start, true);
    v.setInt32(at + 12, this.cellDirs[id] ?? 0, true);
  }

  /** Per region id: memory offset of its load-cell directory (0 = none); see loadCell. */
  private readonly cellDirs: number[] = [];

  /**
   * A load cell: the memory offset of 8 bytes holding the current value (int32 low word, int32
   * high word, little-endian) of the 4-byte field at `offset` of hooked region `region`, which
   * compiled code (the JIT) reads inline instead of calling the region's load hook. The region's
   * owner writes the cell whenever the field changes; the hook must keep returning the same value
   * (the interpreter uses the hook). Returns the same cell for the same field. Only unsigned
   * 4-byte loads are served from cells; other loads still go through the hook.
   */
  loadCell(region: Region, offset: number): number {
    if (!(offset >= 0 && offset % 4 === 0 && offset + 4 <= region.size)) throw new RangeError(`load cell at ${offset} outside the ${region.size}-byte window of "${region.name}"`);
    let dir = this.cellDirs[region.id] ?? 0;
    if (dir === 0) {
      // Directory: entry count, then one cell offset (0 = none) per 4-byte field of the window.
      const count = Math.floor(region.size / 4);
      dir = this.memory.alloc(4 + count * 4, 8);
      this.memory.view.setInt32(dir, count, true);
      this.cellDirs[region.id] = dir;
    }
    const slot = dir + 4 + offset;
    let cell = this.memory.view.getInt32(slot, true);
    if (cell === 0) {
      cell = this.memory.alloc(8, 8);
      this.memory.view.setInt32(slot, cell, true);
    }
    this.syncRegion(region.id);
    return cell;
  }

  /** Installs a load hook on a region (context field rewriting). */
  setLoadHook(region: Region, hook: LoadHook | undefined): void {
    this.hooks[region.id] = hook;
    this.flags[region.id] = (this.flags[region.id]! & ~REGION_HOOKED) | (hook ? REGION_HOOKED : 0);
    this.syncRegion(region.id);
  }

  /** Makes a region read-only or writable. */
  setWritable(region: Region, writable: boolean): void {
    this.flags[region.id] = (this.flags[region.id]! & ~REGION_WRITABLE) | (writable ? REGION_WRITABLE : 0);
    this.syncRegion(region.id);
  }

  private growTables(): void {
    const n = this.starts.length * 2;
    const grow = <T extends Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts, (k) => new Float64Array(k));
    this.ends = grow(this.ends, (k) => new Float64Array(k));
    this.flags = grow(this.flags, (k) => new Uint8Array(k));
  }

  /**
   * Translates a pointer (hi, lo as the registers hold them) to a memory offset, or -1 when an
   * access of `size` bytes there would fault (outside every window, crossing an end, or a store
   * to a read-only region).
   */
  translate(hi: number, lo: number, size: number, write: boolean): number {
    const id = hi - TAG_BASE;
    const a = lo >>> 0;
    if (id < 0 || id >= this.regions.length) return -1;
    if (a < this.starts[id]! || a + size > this.ends[id]!) return -1;
    if (write && (this.flags[id]! & REGION_WRITABLE) === 0) return -1;
    return a;
  }

  /** Translates a pointer given as a number (exact below 2^53), or -1. */
  translateNumber(address: number, size: number, write: boolean): number {
    return this.translate(Math.floor(address / TWO32) | 0, address >>> 0, size, write);
  }

  /** The region a pointer's tag names, or undefined. */
  regionOf(hi: number): Region | undefined {
    return this.regions[hi - TAG_BASE];
  }

  /**
   * Builds the fault for an access that `translate` rejected: the region the tag names (or the
   * nearest one by virtual address when the tag names none) and the offset from its window.
   */
  fault(pc: number, hi: number, lo: number, size: number, access: AccessKind): MemoryFault {
    const address = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    let region = this.regionOf(hi);
    let reason: FaultReason = 'out-of-bounds';
    let offset: number;
    if (region) {
      offset = (lo >>> 0) - region.start;
      if (access === 'write' && !region.writable && offset >= 0 && offset + size <= region.size) reason = 'read-only';
    } else {
      reason = 'unmapped';
      let best = Infinity;
      offset = 0;
      for (const r of this.regions) {
        const d = Number(address - BigInt(r.address()));
        const dist = d < 0 ? -d : d - r.size;
        if (dist < best) {
          best = dist;
          region = r;
          offset = d;
        }
      }
    }
    return new MemoryFault(pc, address, size, access, region?.name, offset, region?.size ?? 0, reason);
  }

  /** Copies `length` bytes at a virtual address out, checked; throws MemoryFault (pc -1) on a bad range. */
  read(address: number, length: number): Uint8Array {
    const at = this.translateNumber(address, length, false);
    if (at < 0) throw this.fault(-1, Math.floor(address / TWO32), address >>> 0, length, 'read');
    return this.memory.bytes.slice(at, at + length);
  }

  /** Copies bytes to a virtual address, checked; throws MemoryFault (pc -1) on a bad range. */
  write(address: number, data: Uint8Array): void {
    const at = this.translateNumber(address, data.length, true);
    if (at < 0) throw this.fault(-1, Math.floor(address / TWO32), address >>> 0, data.length, 'write');
    this.memory.bytes.set(data, at);
  }
}
