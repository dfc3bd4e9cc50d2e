// RingBufReader: consumes a BPF_MAP_TYPE_RINGBUF from Node — mmap'd pages, epoll readiness, an async iterator.
//
// Layout (kernel/bpf/ringbuf.c): page 0 holds the consumer position (user-writable); from page 1
// the producer position page, then the data area mapped twice back to back, so a record that
// wraps is still contiguous. Each record starts with an 8-byte header: u32 length with the
// BUSY (bit 31) and DISCARD (bit 30) flags, u32 page offset; records are 8-byte aligned.
//
// Event-loop wiring: the reader never blocks Node. An epoll fd watches the map; when the iterator
// has nothing to hand out it polls epoll_wait with timeout 0 on a timer, first via setImmediate
// for a few turns (bursts), then backing off to `pollIntervalMs`. A worker thread blocking in
// epoll_wait would wake faster but needs its own FFI instance and a message hop per batch;
// a timer costs one cheap syscall per tick and keeps the Sys single-threaded.
//
// Backpressure: records are consumed one at a time, and the consumer position only advances when
// the caller takes a record, so a slow consumer leaves data in the ring and the producer's
// bpf_ringbuf_reserve fails (the program sees it) instead of Node buffering without bound.
import { BpfkitError } from '../errors.js';
import { MapType } from './bpf/constants.js';
import type { MapFd } from './bpf/map-fd.js';
import { EventLoopPoller, pacing } from './event-loop-poll.js';
import { Fd } from './fd.js';
import type { KernelMap } from './kernel-map.js';
import type { Mapping, Sys } from './sys.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const EPOLLIN = 1;
const EPOLL_CTL_ADD = 1;
const EPOLL_CLOEXEC = 0o2000000;
const BUSY = 0x8000_0000;
const DISCARD = 0x4000_0000;
const HEADER = 8;
const PAGE_SIZE = 4096;

/** Options of a {@link RingBufReader}. */
export interface RingBufReaderOptions {
  /** Longest wait between two epoll checks while idle, in ms (default 5). */
  readonly pollIntervalMs?: number;
  /** setImmediate turns to spin before backing off to the timer (default 16). */
  readonly spinTurns?: number;
}

/** The map given is not a ring buffer. */
export class NotARingBufferError extends BpfkitError {
  constructor(readonly mapType: number) {
    super('ERR_NOT_RINGBUF', `map type ${mapType} is not BPF_MAP_TYPE_RINGBUF (${MapType.RINGBUF})`);
  }
}

/**
 * A consumer of one ring buffer map. `for await (const rec of reader)` yields each record (a
 * copy) in the order the kernel committed them; `read()` drains synchronously. Dispose (or
 * `close()`) to unmap and end the iteration.
 */
export class RingBufReader implements AsyncIterable<Uint8Array>, Disposable {
  readonly #sys: Sys;
  readonly #consumer: Mapping;
  readonly #producer: Mapping;
  readonly #cons: DataView;
  readonly #prod: DataView;
  readonly #data: Uint8Array;
  readonly #mask: number;
  readonly #epoll: Fd<'epoll'>;
  readonly #poller: EventLoopPoller;
  #closed = false;
  /** Records skipped because the producer discarded them. */
  discarded = 0;

  /** Maps the ring buffer behind `map` (the map fd stays owned by the caller). */
  constructor(map: MapFd | KernelMap, options: RingBufReaderOptions = {}) {
    const fd = 'fd' in map ? map.fd : map;
    if (fd.attributes.type !== MapType.RINGBUF) throw new NotARingBufferError(fd.attributes.type);
    const size = fd.attributes.maxEntries;
    this.#sys = fd.sys;
    this.#consumer = this.#sys.mmap(fd.raw, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, 0);
    try {
      this.#producer = this.#sys.mmap(fd.raw, PAGE_SIZE + 2 * size, PROT_READ, MAP_SHARED, PAGE_SIZE);
    } catch (err) {
      this.#sys.munmap(this.#consumer);
      throw err;
    }
    try {
      this.#epoll = new Fd(this.#sys, this.#sys.epollCreate1(EPOLL_CLOEXEC), 'epoll');
      try {
        this.#sys.epollCtl(this.#epoll.raw, EPOLL_CTL_ADD, fd.raw, EPOLLIN, 0);
      } catch (err) {
        this.#epoll.close();
        throw err;
      }
    } catch (err) {
      this.#sys.munmap(this.#producer);
      this.#sys.munmap(this.#consumer);
      throw err;
    }
    this.#poller = new EventLoopPoller(this.#sys, this.#epoll.raw, pacing(options));
    const view = (m: Mapping) => new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
    this.#cons = view(this.#consumer);
    this.#prod = view(this.#producer);
    this.#data = this.#producer.bytes.subarray(PAGE_SIZE);
    this.#mask = size - 1;
  }

  /** Bytes committed by the producer and not yet consumed. */
  get pending(): number {
    return Number(this.#prod.getBigUint64(0, true) - this.#cons.getBigUint64(0, true));
  }

  /** The next committed record (copied), advancing the consumer position; undefined when none is ready. */
  readOne(): Uint8Array | undefined {
    if (this.#closed) return undefined;
    for (;;) {
      const cons = this.#cons.getBigUint64(0, true);
      const prod = this.#prod.getBigUint64(0, true);
      if (cons >= prod) return undefined;
      const at = Number(cons & BigInt(this.#mask));
      const hdr = new DataView(this.#data.buffer, this.#data.byteOffset + at, HEADER);
      const len = hdr.getUint32(0, true);
      if (len & BUSY) return undefined; // reserved, not yet committed: later records wait behind it
      const size = len & ~(BUSY | DISCARD);
      const next = cons + BigInt((size + HEADER + 7) & ~7);
      const rec = len & DISCARD ? undefined : this.#data.slice(at + HEADER, at + HEADER + size);
      this.#cons.setBigUint64(0, next, true);
      if (rec) return rec;
      this.discarded++;
    }
  }

  /** Drains up to `max` ready records synchronously. */
  read(max = Infinity): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < max) {
      const r = this.readOne();
      if (!r) break;
      out.push(r);
    }
    return out;
  }

  /** The next record, waiting for one; `done` once the reader is closed. */
  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      const r = this.readOne();
      if (r) return { done: false, value: r };
      // A BUSY record blocks the ones after it until committed: wait for progress too.
      await this.#poller.waitUntil(() => this.pending > 0, () => this.#closed);
      if (this.pending > 0 && !this.#closed) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array, undefined> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /** Unmaps the ring and closes the epoll fd; a pending `next()` resolves as done. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.wake();
    this.#sys.munmap(this.#producer);
    this.#sys.munmap(this.#consumer);
    this.#epoll.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
