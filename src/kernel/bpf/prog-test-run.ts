// BPF_PROG_TEST_RUN: run a loaded program in the kernel on given input, without attaching it.
import { TEST_RUN_ATTR } from '../bpf-attr.generated.js';
import { Errno } from '../errno.js';
import type { Fd } from '../fd.js';
import { kernelError } from '../kernel-error.js';
import type { BpfCallBlock, Sys } from '../sys.js';
import { bpfCallBlock } from './call-block.js';
import { BpfCmd, bpfCmdName } from './constants.js';
import { InvalidArgumentError } from './input-errors.js';

/** Input of a test run. */
export interface TestRunOptions {
  /** Packet (or other data) in. */
  dataIn?: Uint8Array;
  /** Room for data out; default dataIn + 4 KiB (retried with the kernel's size when short). */
  dataOutSize?: number;
  /** Context in (`struct xdp_md`, `__sk_buff`...). */
  ctxIn?: Uint8Array;
  /** Room for the context out; 0 (default) asks for none. */
  ctxOutSize?: number;
  /** Run this many times (duration is the mean); default 1. */
  repeat?: number;
  /** BPF_F_TEST_RUN_ON_CPU, BPF_F_TEST_XDP_LIVE_FRAMES... */
  flags?: number;
  /** CPU to run on, with BPF_F_TEST_RUN_ON_CPU. */
  cpu?: number;
  /** Batch size for XDP live frames. */
  batchSize?: number;
  /**
   * The loaded program's `enum bpf_prog_type`, which shapes the call for types whose test run
   * takes no packet: sk_lookup gets no data_out unless `dataOutSize` asks for one; raw_tracepoint
   * and syscall programs take only ctx_in (no data, no ctx_out, repeat 0) and report the return
   * value — a syscall program's context, which it may change, comes back as `ctxOut`.
   */
  programType?: number;
}

/** BPF_PROG_TYPE_RAW_TRACEPOINT, BPF_PROG_TYPE_SYSCALL: test runs with ctx_in only (bpf_prog_test_run_raw_tp / _syscall). */
const CTX_ONLY_TYPES: ReadonlySet<number> = new Set([17, 31]);
/** BPF_PROG_TYPE_SYSCALL: the kernel copies the context back into ctx_in after the run. */
const SYSCALL_TYPE = 31;
/** BPF_PROG_TYPE_SK_LOOKUP: no packet in or out. */
const SK_LOOKUP_TYPE = 30;

/** Output of a test run. */
export interface TestRunResult {
  /** The program's return value (r0, low 32 bits). */
  readonly retval: number;
  /** Mean run time per repetition in nanoseconds. */
  readonly duration: number;
  /** Data out, trimmed to the size the kernel reported. */
  readonly dataOut: Uint8Array;
  /** Context out, when ctxOutSize was given. */
  readonly ctxOut: Uint8Array | undefined;
}

const T = TEST_RUN_ATTR.fields;
const ATTR_SIZE = TEST_RUN_ATTR.size;
// Field offsets as plain constants for the per-call writes.
const PROG_FD = T.prog_fd.offset;
const RETVAL = T.retval.offset;
const DATA_SIZE_IN = T.data_size_in.offset;
const DATA_SIZE_OUT = T.data_size_out.offset;
const REPEAT = T.repeat.offset;
const DURATION = T.duration.offset;
const CTX_SIZE_IN = T.ctx_size_in.offset;
const CTX_SIZE_OUT = T.ctx_size_out.offset;
const FLAGS = T.flags.offset;
const CPU = T.cpu.offset;
const BATCH_SIZE = T.batch_size.offset;
const align8 = (n: number): number => (n + 7) & ~7;

/**
 * A program's test-run call block: the attr and the data/ctx areas laid out once (grown when a
 * call needs more room, re-pointed when the shape of the input changes), so a run is copies into
 * native memory and one syscall.
 */
class TestRunBlock {
  #block: BpfCallBlock;
  #bytes: Uint8Array;
  #view: DataView;
  // Area capacities and offsets.
  #capIn = 0;
  #capOut = 0;
  #capCtxIn = 0;
  #capCtxOut = 0;
  #inAt = 0;
  #outAt = 0;
  #ctxInAt = 0;
  #ctxOutAt = 0;
  // The shape the pointers are set for (-1: none yet).
  #lenIn = -1;
  #lenOut = -1;
  #lenCtxIn = -1;
  #lenCtxOut = -1;
  // A view on the first #outViewLen bytes of data out.
  #outView: Uint8Array = new Uint8Array(0);
  #outViewLen = 0;

  constructor(readonly sys: Sys) {
    this.#block = this.#alloc(64, 128, 0, 0);
    this.#bytes = this.#block.bytes;
    this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
  }

  #alloc(capIn: number, capOut: number, capCtxIn: number, capCtxOut: number): BpfCallBlock {
    this.#capIn = align8(capIn);
    this.#capOut = align8(capOut);
    this.#capCtxIn = align8(capCtxIn);
    this.#capCtxOut = align8(capCtxOut);
    this.#inAt = ATTR_SIZE;
    this.#outAt = this.#inAt + this.#capIn;
    this.#ctxInAt = this.#outAt + this.#capOut;
    this.#ctxOutAt = this.#ctxInAt + this.#capCtxIn;
    this.#lenIn = this.#lenOut = this.#lenCtxIn = this.#lenCtxOut = -1;
    this.#outView = new Uint8Array(0);
    this.#outViewLen = 0;
    return bpfCallBlock(this.sys, this.#ctxOutAt + this.#capCtxOut);
  }

  /** Makes room for and points the attr at areas of these lengths. */
  #shape(lenIn: number, lenOut: number, lenCtxIn: number, lenCtxOut: number): void {
    if (lenIn === this.#lenIn && lenOut === this.#lenOut && lenCtxIn === this.#lenCtxIn && lenCtxOut === this.#lenCtxOut) return;
    if (lenIn > this.#capIn || lenOut > this.#capOut || lenCtxIn > this.#capCtxIn || lenCtxOut > this.#capCtxOut) {
      const grow = (need: number, cap: number) => (need > cap ? Math.max(need, cap * 2) : cap);
      const next = this.#alloc(grow(lenIn, this.#capIn), grow(lenOut, this.#capOut), grow(lenCtxIn, this.#capCtxIn), grow(lenCtxOut, this.#capCtxOut));
      this.#block.free();
      this.#block = next;
      this.#bytes = next.bytes;
      this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    }
    const b = this.#block;
    b.point(T.data_in.offset, this.#inAt, lenIn);
    b.point(T.data_out.offset, this.#outAt, lenOut);
    b.point(T.ctx_in.offset, this.#ctxInAt, lenCtxIn);
    b.point(T.ctx_out.offset, this.#ctxOutAt, lenCtxOut);
    this.#lenIn = lenIn;
    this.#lenOut = lenOut;
    this.#lenCtxIn = lenCtxIn;
    this.#lenCtxOut = lenCtxOut;
  }

  /** One BPF_PROG_TEST_RUN; returns the result or -errno (the attr keeps the kernel's answers). */
  run(fd: number, dataIn: Uint8Array, outSize: number, ctxIn: Uint8Array | undefined, ctxOutSize: number, options: TestRunOptions): number {
    const ctxInLen = ctxIn === undefined ? 0 : ctxIn.length;
    this.#shape(dataIn.length, outSize, ctxInLen, ctxOutSize);
    const bytes = this.#bytes;
    const v = this.#view;
    if (dataIn.length > 0) bytes.set(dataIn, this.#inAt);
    if (ctxIn !== undefined && ctxInLen > 0) bytes.set(ctxIn, this.#ctxInAt);
    v.setUint32(PROG_FD, fd, true);
    v.setUint32(RETVAL, 0, true);
    v.setUint32(DATA_SIZE_IN, dataIn.length, true);
    v.setUint32(DATA_SIZE_OUT, outSize, true);
    v.setUint32(REPEAT, options.repeat === undefined ? 1 : u32(options.repeat, 'repeat'), true);
    v.setUint32(DURATION, 0, true);
    v.setUint32(CTX_SIZE_IN, ctxInLen, true);
    v.setUint32(CTX_SIZE_OUT, ctxOutSize, true);
    v.setUint32(FLAGS, options.flags === undefined ? 0 : u32(options.flags, 'flags'), true);
    v.setUint32(CPU, options.cpu === undefined ? 0 : u32(options.cpu, 'cpu'), true);
    v.setUint32(BATCH_SIZE, options.batchSize === undefined ? 0 : u32(options.batchSize, 'batchSize'), true);
    return this.#block.call(BpfCmd.PROG_TEST_RUN, 0, ATTR_SIZE);
  }

  /** A u32 field of the attr as the kernel left it. */
  field(offset: number): number {
    return this.#view.getUint32(offset, true);
  }

  /** A copy of the first `length` bytes of the ctx_in area (a syscall program's context after its run). */
  ctxInBack(length: number): Uint8Array {
    return this.#bytes.slice(this.#ctxInAt, this.#ctxInAt + length);
  }

  /** A copy of `length` bytes of data out (`ctx`: of context out). */
  out(length: number, ctx: boolean): Uint8Array {
    if (ctx) return this.#bytes.slice(this.#ctxOutAt, this.#ctxOutAt + length);
    // The same output length as last time (the usual case) reuses the view; the copy constructor
    // is the cheapest copy out of the block's (external) memory.
    if (length !== this.#outViewLen) {
      this.#outView = this.#bytes.subarray(this.#outAt, this.#outAt + length);
      this.#outViewLen = length;
    }
    return new Uint8Array(this.#outView);
  }

  free(): void {
    this.#block.free();
    this.#bytes = this.#outView = new Uint8Array(0);
    this.#outViewLen = 0;
    this.#view = new DataView(this.#bytes.buffer);
  }
}

function u32(value: number, name: string): number {
  if (value >>> 0 !== value) throw new InvalidArgumentError(name, `${value} is not a u32`);
  return value;
}

const EMPTY = new Uint8Array(0);

// One block per program fd; it dies (and its native memory is freed) with the Fd.
const blocks = new WeakMap<Fd<'prog'>, TestRunBlock>();

/**
 * Runs `prog` once (or `repeat` times) on the given data and context. Repeated runs reuse the
 * program's call block: no attr is built and, with the real Sys, nothing is marshalled.
 */
export function testRun(prog: Fd<'prog'>, options: TestRunOptions = {}): TestRunResult {
  const fd = prog.raw; // FdClosedError once closed
  let block = blocks.get(prog);
  if (block === undefined) {
    block = new TestRunBlock(prog.sys);
    blocks.set(prog, block);
  }
  const dataIn = options.dataIn ?? EMPTY;
  const ctxOnly = options.programType !== undefined && CTX_ONLY_TYPES.has(options.programType);
  if (ctxOnly) {
    if (dataIn.length > 0) throw new InvalidArgumentError('dataIn', 'raw_tracepoint and syscall test runs take no data_in (only ctx_in)');
    options = { ...options, repeat: options.repeat ?? 0 };
  }
  const ctxOutSize = ctxOnly ? 0 : (options.ctxOutSize ?? 0);
  if (ctxOutSize >>> 0 !== ctxOutSize) throw new InvalidArgumentError('ctxOutSize', `${ctxOutSize} is not a size`);
  const noDataOut = ctxOnly || (options.programType === SK_LOOKUP_TYPE && options.dataOutSize === undefined);
  let outSize = noDataOut ? 0 : (options.dataOutSize ?? dataIn.length + 4096);
  if (outSize >>> 0 !== outSize) throw new InvalidArgumentError('dataOutSize', `${outSize} is not a size`);
  for (let attempt = 0; ; attempt++) {
    const r = block.run(fd, dataIn, outSize, options.ctxIn, ctxOutSize, options);
    if (r < 0) {
      // ENOSPC: data out did not fit; data_size_out now holds the size needed.
      const needed = block.field(DATA_SIZE_OUT);
      if (attempt === 0 && r === -Errno.ENOSPC && needed > outSize) {
        outSize = needed;
        continue;
      }
      throw kernelError(`bpf(${bpfCmdName(BpfCmd.PROG_TEST_RUN)})`, -r);
    }
    return {
      retval: block.field(RETVAL),
      duration: block.field(DURATION),
      dataOut: block.out(Math.min(block.field(DATA_SIZE_OUT), outSize), false),
      ctxOut: ctxOutSize > 0 ? block.out(Math.min(block.field(CTX_SIZE_OUT), ctxOutSize), true) : options.programType === SYSCALL_TYPE && options.ctxIn ? block.ctxInBack(options.ctxIn.length) : undefined,
    };
  }
}
