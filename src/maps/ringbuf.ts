// Ring buffer maps (kernel/bpf/ringbuf.c): the kernel's record layout, positions and flags, plus a user-side consumer.
//
// Layout. max_entries bytes of data (a power of two, a multiple of the 4096-byte page). A
// record starts at producer_pos & mask with an 8-byte header — u32 len whose bit 31 is BUSY
// (reserved, not yet committed) and bit 30 DISCARD, then u32 pg_off (the header's page offset
// from the kernel's struct bpf_ringbuf: 3 + offset / 4096) — then the sample; the next record
// starts round_up(len + 8, 8) later. Positions only grow; a reservation fails (NULL, output
// -EAGAIN) when it would put the producer more than size - 1 bytes ahead of the consumer or
// of the oldest uncommitted record. The kernel maps the data pages twice back to back so a
// record can run past the end; here the data region is twice the size: a record that runs past
// the end sees a copy of the ring's start there, and that part is folded back when committed.
//
// Program side: reserve / submit / discard / output / query with the kernel's flag checks
// (reserve: flags must be 0; output: only BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP). A commit
// "wakes" the consumer when forced or when the consumer was waiting at that record, as the
// kernel decides; `wakeups` counts them and `onWakeup` is called. User side: `consume()` reads
// committed records in order, skipping discarded ones and stopping at a busy one (libbpf's
// ring_buffer__consume).

import { BpfMapFlags, BpfMapType } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { allocMapRegions, checkFlags, ensure, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
import { KeylessElements } from './keyless.js';

/** Record header size. */
export const RINGBUF_HDR_SZ = 8;
/** Header len bit: reserved, not committed. */
export const RINGBUF_BUSY_BIT = 0x80000000;
/** Header len bit: discarded. */
export const RINGBUF_DISCARD_BIT = 0x40000000;
/** Largest sample (UINT_MAX / 4). */
export const RINGBUF_MAX_RECORD_SZ = 0x3fffffff;
/** bpf_ringbuf_submit/output flags. */
export const RingbufFlags = { NO_WAKEUP: 1, FORCE_WAKEUP: 2 } as const;
/** bpf_ringbuf_query flags. */
export const RingbufQuery = { AVAIL_DATA: 0, RING_SIZE: 1, CONS_POS: 2, PROD_POS: 3 } as const;

const PAGE_SIZE = 4096;
/** Page offset of the data area in the kernel's struct bpf_ringbuf (struct page, consumer page, producer page). */
const DATA_PGOFF = 3;

/** One committed record a consumer read. */
export interface RingbufRecord {
  /** The sample bytes (a copy). */
  readonly data: Uint8Array;
  /** Position of its header. */
  readonly position: number;
}

/** A live ring buffer. */
export class RingbufMap extends KeylessElements implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** Data size in bytes. */
  readonly size: number;
  /** size - 1. */
  readonly mask: number;
  /** Bytes produced so far (position of the next record). */
  producerPos = 0;
  /** Bytes consumed so far. */
  consumerPos = 0;
  /** Oldest record that may still be uncommitted. */
  private pendingPos = 0;
  /** Wakeups the kernel would have sent the consumer. */
  wakeups = 0;
  /** Called on each wakeup (an epoll consumer's notification). */
  onWakeup: (() => void) | undefined;
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    super();
    this.size = def.maxEntries;
    this.mask = this.size - 1;
    this.regions = allocMapRegions(env, def, 2 * this.size);
    this.address = this.regions.address;
  }

  private get base(): number {
    return this.regions.data.start;
  }

  private view(): DataView {
    return this.env.space.memory.view;
  }

  private headerLen(pos: number): number {
    return this.view().getUint32(this.base + (pos & this.mask), true);
  }

  /** bpf_ringbuf_reserve: the sample's virtual address, or 0 (NULL). */
  reserve(size: number, flags: number): number {
    if (flags !== 0) return 0;
    const at = this.reserveAt(size);
    return at < 0 ? 0 : this.regions.data.address(at + RINGBUF_HDR_SZ);
  }

  /** Reserves a record; returns the header's offset in the data region, or -1. */
  private reserveAt(size: number): number {
    if (size > RINGBUF_MAX_RECORD_SZ) return -1;
    const len = (size + RINGBUF_HDR_SZ + 7) & ~7;
    if (len > this.size) return -1;
    let pend = this.pendingPos;
    const prod = this.producerPos;
    while (pend < prod) {
      const hl = this.headerLen(pend);
      if (hl & RINGBUF_BUSY_BIT) break;
      pend += (((hl & ~RINGBUF_DISCARD_BIT) >>> 0) + RINGBUF_HDR_SZ + 7) & ~7;
    }
    this.pendingPos = pend;
    const next = prod + len;
    if (next - this.consumerPos > this.mask || next - pend > this.mask) return -1;
    const off = prod & this.mask;
    const end = off + RINGBUF_HDR_SZ + size;
    if (end > this.size) {
      // The record runs past the end: show the program the ring's start behind it, as the
      // kernel's second mapping of the same pages does.
      const mem = this.env.space.memory.bytes;
      mem.copyWithin(this.base + this.size, this.base, this.base + end - this.size);
    }
    const v = this.view();
    v.setUint32(this.base + off, (size | RINGBUF_BUSY_BIT) >>> 0, true);
    v.setUint32(this.base + off + 4, DATA_PGOFF + Math.floor(off / PAGE_SIZE), true);
    this.producerPos = next;
    return off;
  }

  /** The header offset of the sample at virtual address `sample`, or -1 when it is not one of ours. */
  private headerOf(sample: number): number {
    const start = this.regions.data.address(0);
    const off = sample - start - RINGBUF_HDR_SZ;
    if (!(off >= 0 && off < this.size && off % 8 === 0)) return -1;
    return off;
  }

  private commit(off: number, flags: number, discard: boolean): void {
    const v = this.view();
    const len = v.getUint32(this.base + off, true);
    const size = (len & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) >>> 0;
    // Fold the part written past the end of the ring back to its start (the kernel's second mapping).
    const end = off + RINGBUF_HDR_SZ + size;
    if (end > this.size) {
      const mem = this.env.space.memory.bytes;
      mem.copyWithin(this.base, this.base + this.size, this.base + end);
    }
    let newLen = (len ^ RINGBUF_BUSY_BIT) >>> 0;
    if (discard) newLen = (newLen | RINGBUF_DISCARD_BIT) >>> 0;
    v.setUint32(this.base + off, newLen, true);
    const cons = this.consumerPos & this.mask;
    if (flags & RingbufFlags.FORCE_WAKEUP || (cons === off && !(flags & RingbufFlags.NO_WAKEUP))) {
      this.wakeups++;
      this.onWakeup?.();
    }
  }

  /** bpf_ringbuf_submit / bpf_ringbuf_discard of a reserved sample. Returns 0, or -EINVAL for a pointer that is not a busy record. */
  submit(sample: number, flags: number, discard = false): number {
    const off = this.headerOf(sample);
    if (off < 0 || (this.headerLen(off) & RINGBUF_BUSY_BIT) === 0) return -MapErrno.EINVAL;
    this.commit(off, flags, discard);
    return 0;
  }

  /** bpf_ringbuf_output: copies `size` bytes at `bytes[offset]` into a new record. 0, -EINVAL (flags) or -EAGAIN (no room). */
  output(bytes: Uint8Array, offset: number, size: number, flags: number): number {
    if (flags & ~(RingbufFlags.NO_WAKEUP | RingbufFlags.FORCE_WAKEUP)) return -MapErrno.EINVAL;
    const off = this.reserveAt(size);
    if (off < 0) return -11; // EAGAIN
    const mem = this.env.space.memory.bytes;
    if (bytes.buffer === mem.buffer) mem.copyWithin(this.base + off + RINGBUF_HDR_SZ, offset, offset + size);
    else mem.set(bytes.subarray(offset, offset + size), this.base + off + RINGBUF_HDR_SZ);
    this.commit(off, flags, false);
    return 0;
  }

  /** bpf_ringbuf_query. */
  query(flags: number): number {
    switch (flags) {
      case RingbufQuery.AVAIL_DATA:
        return this.producerPos - this.consumerPos;
      case RingbufQuery.RING_SIZE:
        return this.size;
      case RingbufQuery.CONS_POS:
        return this.consumerPos;
      case RingbufQuery.PROD_POS:
        return this.producerPos;
      default:
        return 0;
    }
  }

  /** The data area (size bytes, a copy) — what the kernel's mmap shows from the data page on. */
  data(): Uint8Array {
    return this.env.space.memory.bytes.slice(this.base, this.base + this.size);
  }

  /**
   * Reads committed records in order from the consumer position, skipping discarded ones and
   * stopping at the first busy one; advances the consumer position past what it read.
   */
  *consume(): Generator<RingbufRecord> {
    while (this.consumerPos < this.producerPos) {
      const pos = this.consumerPos;
      const len = this.headerLen(pos);
      if (len & RINGBUF_BUSY_BIT) return;
      const size = (len & ~RINGBUF_DISCARD_BIT) >>> 0;
      const next = pos + ((size + RINGBUF_HDR_SZ + 7) & ~7);
      if ((len & RINGBUF_DISCARD_BIT) === 0) {
        const start = this.base + (pos & this.mask) + RINGBUF_HDR_SZ;
        const mem = this.env.space.memory.bytes;
        const data = new Uint8Array(size);
        const first = Math.min(size, this.base + this.size - start);
        data.set(mem.subarray(start, start + first), 0);
        if (first < size) data.set(mem.subarray(this.base, this.base + size - first), first);
        this.consumerPos = next;
        yield { data, position: pos };
      } else {
        this.consumerPos = next;
      }
    }
  }

  /** Bytes waiting for the consumer. */
  count(): number {
    return this.producerPos - this.consumerPos;
  }
  clear(): void {
    this.producerPos = this.consumerPos = this.pendingPos = 0;
    this.regions.data.bytes().fill(0);
  }
}

/** BPF_MAP_TYPE_RINGBUF. */
export const ringbufFamily: MapFamily = {
  types: [BpfMapType.RINGBUF],
  check(def) {
    checkFlags(def, BpfMapFlags.NUMA_NODE, 'a ring buffer');
    ensure(def, def.keySize === 0, 'keySize', 'a ring buffer has no keys (key_size 0)');
    ensure(def, def.valueSize === 0, 'valueSize', 'a ring buffer has no values (value_size 0)');
    const n = def.maxEntries;
    ensure(def, n > 0 && Number.isInteger(Math.log2(n)) && n % PAGE_SIZE === 0, 'maxEntries', 'the data size must be a power of two and a multiple of the 4096-byte page');
  },
  create: (def, env) => new RingbufMap(def, env),
};
