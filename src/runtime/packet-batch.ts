// A batch of frames for one XDP program: staged in the address space's memory, run by the batch driver in one call.
//
// The pipeline adds frames as the capture reader yields them. Frames are not copied one by one:
// the first frame of a chunk stages the chunk (a window of up to STAGE_BYTES from that frame on)
// into the memory in one copy, and each frame becomes a descriptor (its offset there, length,
// CPU). `run()` enters WebAssembly once for the whole batch (src/jit/batch-driver.ts); a run that
// faults is recorded with its error and the driver is entered again after it, so a fault never
// stops the batch. Verdicts are read back from the descriptors; frames to write out are in the
// staged bytes, copied back after their run when their verdict's sink wants the frame as the
// program left it.

import { BpfkitError } from '../errors.js';
import type { AddressSpace } from '../vm/address-space.js';
import { BATCH_CONTROL_SIZE, BATCH_DESC_SIZE, BatchControl, type BatchFn, createBatchDriver } from '../jit/batch-driver.js';
import type { JitEngine } from '../jit/jit-engine.js';
import { ETH_HLEN, XDP_MAX_LINEAR, XDP_PACKET_HEADROOM, type XdpContext } from '../ctx/xdp-buff.js';

/** Bytes of capture staged in memory at a time (a chunk, or the part of it from a frame on). */
export const STAGE_BYTES = 1 << 20;
/** Frames per batch at most. */
export const BATCH_CAPACITY = 8192;

/** A run of the batch that stopped with an error. */
export interface BatchFault {
  /** The error (a BpfkitError: a memory fault, the budget...). */
  readonly error: BpfkitError;
  /** Slot of the instruction, when the error does not say (the engine's pc then). */
  readonly pc: number;
}

/** What the batch needs from the program that owns it. */
export interface BatchHost {
  /** Called before each batch with the first frame's CPU (the helpers' state; none is called but on a fault). */
  enter(cpu: number): void;
  /** The instruction budget of each run. */
  readonly budget: number;
}

const TWO32 = 4294967296;

/** A batch of frames in one XDP program's address space (one per program, reused by every pipeline). */
export class PacketBatch {
  /** Frames in the batch. */
  length = 0;
  /** Per slot: capture index, timestamp and original length of the frame (set by the caller). */
  readonly index = new Float64Array(BATCH_CAPACITY);
  /** Seconds of each frame's timestamp. */
  readonly seconds = new Float64Array(BATCH_CAPACITY);
  /** Nanoseconds of each frame's timestamp. */
  readonly nanoseconds = new Float64Array(BATCH_CAPACITY);
  /** Original (wire) length of each frame. */
  readonly origLen = new Float64Array(BATCH_CAPACITY);
  /** Faults of the last run, by slot (sparse). */
  readonly faults = new Map<number, BatchFault>();
  private readonly staging: number;
  private readonly descriptors: number;
  private readonly control: number;
  private readonly driver: BatchFn;
  private readonly r1: number;
  private src: Uint8Array | undefined;
  private srcFrom = 0;
  private srcTo = 0;
  private words: Int32Array;
  private ifindex = 1;

  constructor(
    private readonly space: AddressSpace,
    private readonly engine: JitEngine,
    private readonly context: XdpContext,
    private readonly host: BatchHost,
  ) {
    const mem = space.memory;
    this.staging = mem.alloc(STAGE_BYTES, 64);
    this.descriptors = mem.alloc(BATCH_CAPACITY * BATCH_DESC_SIZE, 16);
    this.control = mem.alloc(BATCH_CONTROL_SIZE, 16);
    this.words = new Int32Array(mem.bytes.buffer);
    const cells = context.batchCells();
    const entry = engine.batchEntry(host.budget);
    this.r1 = context.ctx.address();
    this.driver = createBatchDriver(entry.memory, entry.run, {
      descriptors: this.descriptors,
      data: context.hardStart + XDP_PACKET_HEADROOM,
      dataEndCell: cells.dataEnd,
      rxQueueCell: cells.rxQueue,
      packetRegion: context.packet.id,
      scratch: entry.scratch,
      control: this.control,
    });
  }

  /** Whether a frame of `length` bytes can go in a batch (else it takes the one-by-one path: runts, multi-buffer frames). */
  static fits(length: number): boolean {
    return length >= ETH_HLEN && length <= XDP_MAX_LINEAR;
  }

  private view(): Int32Array {
    const b = this.space.memory.bytes;
    if (b !== this.wordsOf) {
      this.wordsOf = b;
      this.words = new Int32Array(b.buffer);
    }
    return this.words;
  }
  private wordsOf: Uint8Array | undefined;

  /**
   * Adds the frame `buffer[offset, offset + length)` to run on `cpu`; returns its slot, or -1
   * when the batch must run first (full, or the frame lies outside the staged window while other
   * frames still use it). `buffer` must stay unchanged until `release()`.
   */
  add(buffer: Uint8Array, offset: number, length: number, cpu: number): number {
    const n = this.length;
    if (n === BATCH_CAPACITY) return -1;
    if (buffer !== this.src || offset < this.srcFrom || offset + length > this.srcTo) {
      if (n > 0) return -1;
      const to = Math.min(buffer.length, offset + STAGE_BYTES);
      this.space.memory.bytes.set(buffer.subarray(offset, to), this.staging);
      this.src = buffer;
      this.srcFrom = offset;
      this.srcTo = to;
    }
    const w = this.view();
    const d = (this.descriptors + n * BATCH_DESC_SIZE) >> 2;
    w[d] = this.staging + offset - this.srcFrom;
    w[d + 1] = length;
    w[d + 2] = cpu;
    this.length = n + 1;
    return n;
  }

  /** Forgets the staged bytes (the caller may reuse the buffers it added frames from). */
  release(): void {
    this.src = undefined;
  }

  /**
   * Runs every frame of the batch on interface `ifindex`; frames whose verdict `r` < 32 has bit
   * r set in `copyBack` are copied back after their run (see `frame`). Faults are in `faults`.
   */
  run(ifindex: number, copyBack: number): void {
    const n = this.length;
    this.faults.clear();
    if (n === 0) return;
    const w = this.view();
    const first = this.descriptors >> 2;
    this.ifindex = ifindex;
    this.host.enter(w[first + 2]!);
    this.context.beginBatch(this.ifindex, w[first + 1]!);
    const c = this.control >> 2;
    w[c + (BatchControl.current >> 2)] = 0;
    w[c + (BatchControl.longest >> 2)] = 0;
    w[c + (BatchControl.copyBack >> 2)] = copyBack;
    const limit = this.engine.batchEntry(this.host.budget).limit;
    const r1lo = this.r1 | 0;
    const r1hi = Math.floor(this.r1 / TWO32) | 0;
    this.engine.beforeHost = this.sync;
    try {
      for (let from = 0; from < n; ) {
        try {
          this.driver(from, n, r1lo, r1hi, limit);
          from = n;
        } catch (e) {
          if (!(e instanceof BpfkitError)) throw e;
          const at = this.view()[c + (BatchControl.current >> 2)]!;
          const pc = typeof (e as { pc?: unknown }).pc === 'number' ? (e as unknown as { pc: number }).pc : this.engine.pc;
          this.faults.set(at, { error: e, pc });
          from = at + 1;
        }
      }
    } finally {
      this.engine.beforeHost = undefined;
      this.sync();
    }
  }

  /**
   * Brings the JavaScript side up to the packet the driver runs now: the context's pointers and
   * window (region tables), rx_queue_index, the helpers' CPU. Called when a run reaches
   * JavaScript (a fault, a helper) and after the batch.
   */
  private readonly sync = (): void => {
    const w = this.view();
    const c = this.control >> 2;
    const d = (this.descriptors >> 2) + w[c + (BatchControl.current >> 2)]! * (BATCH_DESC_SIZE >> 2);
    const cpu = w[d + 2]!;
    this.host.enter(cpu);
    this.context.endBatch(w[d + 1]!, w[c + (BatchControl.longest >> 2)]!, cpu);
  };

  /** Slot `i`'s verdict (r0's low 32 bits, unsigned) after `run`. */
  verdict(i: number): number {
    return this.view()[((this.descriptors + i * BATCH_DESC_SIZE) >> 2) + 3]! >>> 0;
  }
  /** Slot `i`'s CPU. */
  cpu(i: number): number {
    return this.view()[((this.descriptors + i * BATCH_DESC_SIZE) >> 2) + 2]!;
  }
  /** Slot `i`'s length. */
  frameLength(i: number): number {
    return this.view()[((this.descriptors + i * BATCH_DESC_SIZE) >> 2) + 1]!;
  }
  /** Memory offset of slot `i`'s frame (as it came in; as the program left it when copied back). */
  frameOffset(i: number): number {
    return this.view()[(this.descriptors + i * BATCH_DESC_SIZE) >> 2]!;
  }
  /** The memory's bytes (frames are read at frameOffset). */
  bytes(): Uint8Array {
    return this.space.memory.bytes;
  }
  /** Empties the batch (the staged window stays for the next frames of the same buffer). */
  clear(): void {
    this.length = 0;
  }
}
