// User ring buffers (kernel/bpf/ringbuf.c, BPF_MAP_TYPE_USER_RINGBUF): user space produces records, a program drains them.
//
// The same layout as a ring buffer (see ringbuf.ts): data of max_entries bytes (a power of two
// and a multiple of the 4096-byte page), records of an 8-byte header (u32 len with BUSY bit 31
// and DISCARD bit 30, u32 pad) then the sample, the next record round_up(len + 8, 8) later. The
// producer here is libbpf's user_ring_buffer__reserve / __submit / __discard: a reservation
// fails with ENOSPC when the record does not fit in the room the consumer left, E2BIG when it
// could never fit. bpf_user_ringbuf_drain (`drain`) is the kernel's loop: from the consumer
// position, a busy record or the producer position ends it, a discarded record is skipped (not
// counted), every other record is handed to the callback (a dynptr over the sample) and
// released, until the callback returns non-zero or 128 Ki samples were taken; it returns the
// number of samples handed over (or -EINVAL for bad flags, -EBUSY when a drain is under way).
// User-side map operations are ENOTSUPP, as for ring buffers.

import { BpfMapFlags, BpfMapType } from '../isa/uapi.generated.js';
import { MapErrno, MapOperationError } from './errors.js';
import { allocMapRegions, checkFlags, ensure, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';
import { RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT, RINGBUF_HDR_SZ, RingbufFlags } from './ringbuf.js';
import { KeylessElements } from './keyless.js';

/** BPF_MAX_USER_RINGBUF_SAMPLES: most samples one drain takes. */
export const USER_RINGBUF_MAX_SAMPLES = 128 * 1024;
/** DYNPTR_MAX_SIZE: a sample larger than this cannot be wrapped in a dynptr (E2BIG). */
export const DYNPTR_MAX_SIZE = (1 << 24) - 1;
const PAGE_SIZE = 4096;

/** A reserved record, filled by the producer then submitted or discarded. */
export interface UserRingbufSample {
  /** Position of the record's header. */
  readonly position: number;
  /** The sample's bytes to fill (copied into the ring on submit). */
  readonly data: Uint8Array;
}

/** A live BPF_MAP_TYPE_USER_RINGBUF. */
export class UserRingbufMap extends KeylessElements implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** Data size in bytes. */
  readonly size: number;
  private readonly mask: number;
  /** Bytes produced so far. */
  producerPos = 0;
  /** Bytes the program consumed so far. */
  consumerPos = 0;
  private busy = false;
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    super();
    this.size = def.maxEntries;
    this.mask = this.size - 1;
    // Twice the data: a sample that runs past the end is copied behind it for the program (the kernel maps the pages twice).
    this.regions = allocMapRegions(env, def, 2 * this.size, false);
    this.address = this.regions.address;
  }

  private get base(): number {
    return this.regions.data.start;
  }

  private putBytes(pos: number, bytes: Uint8Array): void {
    const mem = this.env.space.memory.bytes;
    const off = pos & this.mask;
    const first = Math.min(bytes.length, this.size - off);
    mem.set(bytes.subarray(0, first), this.base + off);
    if (first < bytes.length) mem.set(bytes.subarray(first), this.base);
  }

  private header(pos: number): number {
    return this.env.space.memory.view.getUint32(this.base + (pos & this.mask), true);
  }

  private setHeader(pos: number, len: number): void {
    const v = this.env.space.memory.view;
    v.setUint32(this.base + (pos & this.mask), len >>> 0, true);
    v.setUint32(this.base + ((pos + 4) & this.mask), 0, true);
  }

  /**
   * user_ring_buffer__reserve: a busy record of `size` bytes at the producer position, or
   * undefined when there is no room now (ENOSPC). Throws MapOperationError E2BIG when it could
   * never fit.
   */
  reserve(size: number): UserRingbufSample | undefined {
    if (!Number.isInteger(size) || size < 0 || size > 0xffffffff) throw new MapOperationError(this.def.name, 'reserve', MapErrno.E2BIG);
    const total = (size + RINGBUF_HDR_SZ + 7) & ~7;
    if (total > this.size) throw new MapOperationError(this.def.name, 'reserve', MapErrno.E2BIG);
    if (total > this.size - (this.producerPos - this.consumerPos)) return undefined;
    const position = this.producerPos;
    this.setHeader(position, (size | RINGBUF_BUSY_BIT) >>> 0);
    this.producerPos += total;
    return { position, data: new Uint8Array(size) };
  }

  /** user_ring_buffer__submit: copies the sample in and clears its busy bit. */
  submit(sample: UserRingbufSample): void {
    this.commit(sample, false);
  }

  /** user_ring_buffer__discard: the record is skipped by the drain. */
  discard(sample: UserRingbufSample): void {
    this.commit(sample, true);
  }

  private commit(sample: UserRingbufSample, discard: boolean): void {
    const len = this.header(sample.position);
    if ((len & RINGBUF_BUSY_BIT) === 0) throw new MapOperationError(this.def.name, discard ? 'discard' : 'submit', MapErrno.EINVAL);
    if (!discard) this.putBytes(sample.position + RINGBUF_HDR_SZ, sample.data);
    this.setHeader(sample.position, discard ? (sample.data.length | RINGBUF_DISCARD_BIT) >>> 0 : sample.data.length);
  }

  /** Reserves, fills and submits one record; false when there is no room (ENOSPC). */
  produce(data: Uint8Array): boolean {
    const s = this.reserve(data.length);
    if (!s) return false;
    s.data.set(data);
    this.submit(s);
    return true;
  }

  /** __bpf_user_ringbuf_peek: the next sample's (address, size), or -ENODATA / -EAGAIN (discarded, skipped) / -EINVAL / -E2BIG. */
  private peek(): { address: number; size: number } | number {
    const prod = this.producerPos;
    const cons = this.consumerPos;
    if (prod % 8 !== 0) return -MapErrno.EINVAL;
    if (cons >= prod) return -61; // ENODATA
    const hdr = this.header(cons);
    const sampleLen = (hdr & ~(RINGBUF_BUSY_BIT | RINGBUF_DISCARD_BIT)) >>> 0;
    const total = (sampleLen + RINGBUF_HDR_SZ + 7) & ~7;
    if (total > prod - cons) return -MapErrno.EINVAL;
    if (total > this.size) return -MapErrno.E2BIG;
    if (sampleLen > DYNPTR_MAX_SIZE) return -MapErrno.E2BIG;
    if (hdr & RINGBUF_DISCARD_BIT) {
      this.consumerPos = cons + total;
      return -MapErrno.EAGAIN;
    }
    if (hdr & RINGBUF_BUSY_BIT) return -61;
    const off = (cons + RINGBUF_HDR_SZ) & this.mask;
    if (off + sampleLen > this.size) {
      const mem = this.env.space.memory.bytes;
      mem.copyWithin(this.base + this.size, this.base, this.base + off + sampleLen - this.size);
    }
    return { address: this.regions.data.address(off), size: sampleLen };
  }

  /**
   * bpf_user_ringbuf_drain: hands each committed sample to `callback(address, size)` (the
   * sample's bytes, read-only to the program through its dynptr) until it returns non-zero;
   * returns the number of samples handed over, or -errno.
   */
  drain(callback: (address: number, size: number) => number, flags: number): number {
    if ((flags & ~(RingbufFlags.NO_WAKEUP | RingbufFlags.FORCE_WAKEUP)) !== 0) return -MapErrno.EINVAL;
    if (this.busy) return -MapErrno.EBUSY;
    this.busy = true;
    try {
      let samples = 0;
      let discarded = 0;
      let ret = 0;
      for (; samples < USER_RINGBUF_MAX_SAMPLES && ret === 0; samples++) {
        const p = this.peek();
        if (typeof p === 'number') {
          if (p === -61) break;
          if (p === -MapErrno.EAGAIN) {
            discarded++;
            continue;
          }
          return p;
        }
        ret = callback(p.address, p.size);
        this.consumerPos += (p.size + RINGBUF_HDR_SZ + 7) & ~7;
      }
      return samples - discarded;
    } finally {
      this.busy = false;
    }
  }

  /** Bytes produced and not yet drained. */
  count(): number {
    return this.producerPos - this.consumerPos;
  }
  clear(): void {
    this.producerPos = this.consumerPos = 0;
    this.regions.data.bytes().fill(0);
  }
}

/** BPF_MAP_TYPE_USER_RINGBUF. */
export const userRingbufFamily: MapFamily = {
  types: [BpfMapType.USER_RINGBUF],
  check(def) {
    checkFlags(def, BpfMapFlags.NUMA_NODE, 'a user ring buffer');
    ensure(def, def.keySize === 0, 'keySize', 'a user ring buffer has no keys (key_size 0)');
    ensure(def, def.valueSize === 0, 'valueSize', 'a user ring buffer has no values (value_size 0)');
    const n = def.maxEntries;
    ensure(def, n > 0 && Number.isInteger(Math.log2(n)) && n % PAGE_SIZE === 0, 'maxEntries', 'the data size must be a power of two and a multiple of the 4096-byte page');
  },
  create: (def, env) => new UserRingbufMap(def, env),
};
