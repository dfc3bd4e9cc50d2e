// BPF_PROG_TEST_RUN: run a loaded program in the kernel on given input, without attaching it.
import { TEST_RUN_ATTR } from '../bpf-attr.generated.js';
import { Errno } from '../errno.js';
import type { Fd } from '../fd.js';
import { isErrno } from '../kernel-error.js';
import { StructReader, StructWriter } from '../struct-codec.js';
import { BpfCmd } from './constants.js';

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
}

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

/** Runs `prog` once (or `repeat` times) on the given data and context. */
export function testRun(prog: Fd<'prog'>, options: TestRunOptions = {}): TestRunResult {
  const dataIn = options.dataIn ?? new Uint8Array(0);
  let outSize = options.dataOutSize ?? dataIn.length + 4096;
  for (let attempt = 0; ; attempt++) {
    const dataOut = new Uint8Array(outSize);
    const ctxOut = new Uint8Array(options.ctxOutSize ?? 0);
    const attr = new StructWriter(TEST_RUN_ATTR)
      .u32('prog_fd', prog.raw)
      .u32('data_size_in', dataIn.length)
      .ptr('data_in', dataIn)
      .u32('data_size_out', dataOut.length)
      .ptr('data_out', dataOut, 'out')
      .u32('repeat', options.repeat ?? 1)
      .u32('flags', options.flags ?? 0)
      .u32('cpu', options.cpu ?? 0)
      .u32('batch_size', options.batchSize ?? 0);
    if (options.ctxIn) attr.u32('ctx_size_in', options.ctxIn.length).ptr('ctx_in', options.ctxIn);
    if (ctxOut.length > 0) attr.u32('ctx_size_out', ctxOut.length).ptr('ctx_out', ctxOut, 'out');
    const read = new StructReader(TEST_RUN_ATTR, attr.bytes);
    try {
      prog.sys.bpf(BpfCmd.PROG_TEST_RUN, attr.bytes, attr.pointers);
    } catch (err) {
      // ENOSPC: data out did not fit; data_size_out now holds the size needed.
      const needed = read.u32('data_size_out');
      if (attempt === 0 && isErrno(err, Errno.ENOSPC) && needed > outSize) {
        outSize = needed;
        continue;
      }
      throw err;
    }
    return {
      retval: read.u32('retval'),
      duration: read.u32('duration'),
      dataOut: dataOut.slice(0, Math.min(read.u32('data_size_out'), dataOut.length)),
      ctxOut: ctxOut.length > 0 ? ctxOut.slice(0, Math.min(read.u32('ctx_size_out'), ctxOut.length)) : undefined,
    };
  }
}
