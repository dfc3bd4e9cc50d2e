// PerfReader: consumes a BPF_MAP_TYPE_PERF_EVENT_ARRAY (bpf_perf_event_output) — one perf ring per CPU, polled like the ring buffer.
//
// For each CPU the reader opens a PERF_COUNT_SW_BPF_OUTPUT software event (perf_event_open(2),
// through Sys.perfEventOpen), maps 1 + 2^n pages and stores the event fd in the map at that CPU's
// index, as libbpf's perf_buffer does. Each ring's first page holds data_head (written by the
// kernel) and data_tail (ours); records are `struct perf_event_header` + body, and may wrap
// around the end of the data area (perf does not map it twice, unlike the BPF ring buffer).
// PERF_RECORD_SAMPLE carries the raw bytes (padded to keep 8-byte alignment), PERF_RECORD_LOST
// the number of samples dropped while the ring was full. Waiting is the ring buffer reader's:
// epoll_wait with timeout 0 on setImmediate, then timers, never blocking the event loop.
import { BpfkitError, NotSupportedError } from '../errors.js';
import { MapType } from './bpf/constants.js';
import { deleteElem, updateElem } from './bpf/map-elem.js';
import { possibleCpus, type MapFd } from './bpf/map-fd.js';
import { EventLoopPoller, pacing } from './event-loop-poll.js';
import { Fd } from './fd.js';
import { KernelError } from './kernel-error.js';
import type { KernelMap } from './kernel-map.js';
import type { Mapping, Sys } from './sys.js';

const PAGE = 4096;
const PROT_RW = 3;
const MAP_SHARED = 1;
const EPOLLIN = 1;
const EPOLL_CTL_ADD = 1;
const EPOLL_CLOEXEC = 0o2000000;
const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_BPF_OUTPUT = 10;
const PERF_SAMPLE_RAW = 1 << 10;
const PERF_FLAG_FD_CLOEXEC = 8;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
/** PERF_ATTR_SIZE_VER5: every field this reader sets. */
const ATTR_SIZE = 112;

/** One sample: the CPU whose ring it came from and the raw bytes (bpf_perf_event_output's data, zero-padded to 8-byte alignment). */
export interface PerfSample {
  readonly cpu: number;
  readonly data: Uint8Array;
}

/** Options of a {@link PerfReader}. */
export interface PerfReaderOptions {
  /** Data pages per CPU, a power of two (default 8 = 32 KiB). */
  readonly pagesPerCpu?: number;
  /** Longest wait between two epoll checks while idle, in ms (default 5). */
  readonly pollIntervalMs?: number;
}

/** The map given is not a perf event array. */
export class NotAPerfEventArrayError extends BpfkitError {
  constructor(readonly mapType: number) {
    super('ERR_NOT_PERF_EVENT_ARRAY', `map type ${mapType} is not BPF_MAP_TYPE_PERF_EVENT_ARRAY (${MapType.PERF_EVENT_ARRAY})`);
  }
}

interface CpuRing {
  readonly cpu: number;
  readonly fd: Fd<'other'>;
  readonly mapping: Mapping;
  readonly header: DataView;
  readonly data: Uint8Array;
}

function perfAttr(): Uint8Array {
  const a = new Uint8Array(ATTR_SIZE);
  const v = new DataView(a.buffer);
  v.setUint32(0, PERF_TYPE_SOFTWARE, true);
  v.setUint32(4, ATTR_SIZE, true);
  v.setBigUint64(8, BigInt(PERF_COUNT_SW_BPF_OUTPUT), true);
  v.setBigUint64(16, 1n, true); // sample_period
  v.setBigUint64(24, BigInt(PERF_SAMPLE_RAW), true);
  v.setUint32(48, 1, true); // wakeup_events
  return a;
}

/**
 * A consumer of one perf event array. Iterate with `for await`, or drain with `read()`. `lost`
 * counts samples the kernel dropped because a ring was full. Close to remove the per-CPU events
 * from the map and unmap the rings.
 */
export class PerfReader implements AsyncIterable<PerfSample>, Disposable {
  readonly #sys: Sys;
  readonly #map: MapFd;
  readonly #rings: CpuRing[] = [];
  readonly #epoll: Fd<'epoll'>;
  #next = 0;
  #closed = false;
  readonly #poller: EventLoopPoller;
  /** Samples the kernel reported lost (PERF_RECORD_LOST). */
  lost = 0;

  /** Opens one perf event per CPU and installs them in `map` (the map fd stays the caller's). */
  constructor(map: MapFd | KernelMap, options: PerfReaderOptions = {}) {
    const fd = 'fd' in map ? map.fd : map;
    if (fd.attributes.type !== MapType.PERF_EVENT_ARRAY) throw new NotAPerfEventArrayError(fd.attributes.type);
    this.#sys = fd.sys;
    this.#map = fd;
    const pages = options.pagesPerCpu ?? 8;
    if (!Number.isInteger(pages) || pages < 1 || (pages & (pages - 1)) !== 0) throw new BpfkitError('ERR_INVALID_ARGUMENT', `pagesPerCpu must be a power of two, got ${pages}`);
    const open = this.#sys.perfEventOpen?.bind(this.#sys);
    if (!open) throw new NotSupportedError('perf_event_open through this Sys');
    this.#epoll = new Fd(this.#sys, this.#sys.epollCreate1(EPOLL_CLOEXEC), 'epoll');
    this.#poller = new EventLoopPoller(this.#sys, this.#epoll.raw, pacing(options));
    try {
      const cpus = Math.min(possibleCpus(this.#sys), fd.attributes.maxEntries);
      for (let cpu = 0; cpu < cpus; cpu++) {
        let raw: number;
        try {
          raw = open(perfAttr(), -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
        } catch (err) {
          if (err instanceof KernelError && err.errnoName === 'ENODEV') continue; // offline CPU
          throw err;
        }
        const pfd = new Fd(this.#sys, raw, 'other');
        let mapping: Mapping;
        try {
          mapping = this.#sys.mmap(raw, (1 + pages) * PAGE, PROT_RW, MAP_SHARED, 0);
        } catch (err) {
          pfd.close();
          throw err;
        }
        const header = new DataView(mapping.bytes.buffer, mapping.bytes.byteOffset, PAGE);
        const ring: CpuRing = { cpu, fd: pfd, mapping, header, data: mapping.bytes.subarray(PAGE, PAGE + pages * PAGE) };
        this.#rings.push(ring);
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, cpu, true);
        const value = new Uint8Array(4);
        new DataView(value.buffer).setUint32(0, raw, true);
        updateElem(fd, key, value);
        this.#sys.epollCtl(this.#epoll.raw, EPOLL_CTL_ADD, raw, EPOLLIN, cpu);
      }
    } catch (err) {
      this.close();
      throw err;
    }
  }

  /** Number of per-CPU rings. */
  get cpus(): number {
    return this.#rings.length;
  }

  /** Copies `len` bytes at ring offset `at`, wrapping at the end of the data area. */
  #copy(ring: CpuRing, at: number, len: number): Uint8Array {
    const size = ring.data.length;
    const start = at % size;
    if (start + len <= size) return ring.data.slice(start, start + len);
    const out = new Uint8Array(len);
    out.set(ring.data.subarray(start));
    out.set(ring.data.subarray(0, len - (size - start)), size - start);
    return out;
  }

  /** The next sample of one ring, counting lost records on the way. */
  #readRing(ring: CpuRing): PerfSample | undefined {
    for (;;) {
      const head = ring.header.getBigUint64(1024, true);
      const tail = ring.header.getBigUint64(1032, true);
      if (tail >= head) return undefined;
      const at = Number(tail % BigInt(ring.data.length));
      const hdr = new DataView(this.#copy(ring, at, 8).buffer);
      const type = hdr.getUint32(0, true);
      const size = hdr.getUint16(6, true);
      const body = this.#copy(ring, at + 8, size - 8);
      ring.header.setBigUint64(1032, tail + BigInt(size), true);
      const bv = new DataView(body.buffer);
      if (type === PERF_RECORD_SAMPLE) {
        const len = bv.getUint32(0, true);
        return { cpu: ring.cpu, data: body.slice(4, 4 + len) };
      }
      if (type === PERF_RECORD_LOST) this.lost += Number(bv.getBigUint64(8, true));
    }
  }

  /** The next ready sample from any CPU (round-robin), or undefined when none is ready. */
  readOne(): PerfSample | undefined {
    if (this.#closed) return undefined;
    for (let i = 0; i < this.#rings.length; i++) {
      const ring = this.#rings[(this.#next + i) % this.#rings.length]!;
      const s = this.#readRing(ring);
      if (s) {
        this.#next = (this.#next + i) % this.#rings.length;
        return s;
      }
    }
    return undefined;
  }

  /** Drains every ready sample (each CPU's in order). */
  read(): PerfSample[] {
    const out: PerfSample[] = [];
    for (let s = this.readOne(); s; s = this.readOne()) out.push(s);
    return out;
  }

  #pending(): boolean {
    return this.#rings.some((r) => r.header.getBigUint64(1032, true) < r.header.getBigUint64(1024, true));
  }

  /** The next sample, waiting without blocking the event loop; `done` once closed. */
  async next(): Promise<IteratorResult<PerfSample, undefined>> {
    for (;;) {
      if (this.#closed) return { done: true, value: undefined };
      const s = this.readOne();
      if (s) return { done: false, value: s };
      await this.#poller.waitUntil(() => this.#pending(), () => this.#closed);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<PerfSample, undefined> {
    return {
      next: () => this.next(),
      return: async () => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /** Removes the events from the map, unmaps the rings and closes every fd. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.wake();
    for (const r of this.#rings) {
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, r.cpu, true);
      if (!this.#map.closed) deleteElem(this.#map, key);
      this.#sys.munmap(r.mapping);
      r.fd.close();
    }
    this.#epoll.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
