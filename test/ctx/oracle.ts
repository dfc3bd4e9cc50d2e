// Test support for src/ctx: one program run in the kernel (BPF_PROG_TEST_RUN) and in the interpreter, sample frames.
import { encode, type Instruction } from '../../src/isa/index.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import type { Sys } from '../../src/kernel/sys.js';
import type { RunnableProgramType } from '../../src/ctx/program-type-ops.js';
import { NotSupportedError } from '../../src/errors.js';
import { InvalidContextError, run, type RunOptions } from '../../src/vm/index.js';

/** What a run reports, or the errno name the kernel refused it with ('EINVAL' for our InvalidContextError). */
export type Outcome = { retval: number; dataOut: Uint8Array; ctxOut: Uint8Array | undefined } | { error: string };

/** Loads `insns` as `ops.type` and runs it once in the kernel. */
export function kernelRun(sys: Sys, ops: RunnableProgramType, insns: readonly Instruction[], data: Uint8Array, ctxIn?: Uint8Array): Outcome {
  using prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_oracle', ...(ops.expectedAttachType !== undefined ? { expectedAttachType: ops.expectedAttachType } : {}) });
  return kernelRunLoaded(prog, ops, data, ctxIn);
}

/** Runs an already loaded program once in the kernel. */
export function kernelRunLoaded(prog: Parameters<typeof testRun>[0], ops: RunnableProgramType, data: Uint8Array, ctxIn?: Uint8Array): Outcome {
  // A zeroed ctx_in is what the kernel uses when only ctx_out is asked for; XDP refuses it (data_end != size).
  const wantCtx = ctxIn !== undefined || ops.name !== 'xdp';
  try {
    const r = testRun(prog, { dataIn: data, ...(ctxIn ? { ctxIn } : {}), ...(wantCtx ? { ctxOutSize: ops.ctxSize } : {}) });
    return { retval: r.retval, dataOut: r.dataOut, ctxOut: r.ctxOut };
  } catch (err) {
    if (err instanceof KernelError) return { error: err.errnoName };
    throw err;
  }
}

/** Runs `insns` once in the interpreter with `ops`'s context. */
export function vmRun(ops: RunnableProgramType, insns: readonly Instruction[], data: Uint8Array, ctxIn?: Uint8Array, options: RunOptions = {}): Outcome {
  try {
    const r = run(insns, ctxIn, data, { ...options, programType: ops });
    const wantCtx = ctxIn !== undefined || ops.name !== 'xdp';
    return { retval: r.retval, dataOut: r.packet, ctxOut: wantCtx ? r.ctx : undefined };
  } catch (err) {
    if (err instanceof NotSupportedError) return { error: `not supported: ${err.feature}` };
    if (err instanceof InvalidContextError) return { error: /\((E[A-Z0-9]+)\)/.exec(err.reason)?.[1] ?? 'EINVAL' };
    throw err;
  }
}

/** Hex of bytes, for messages. */
export const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '-');

/** A comparable summary of an outcome. */
export function summary(o: Outcome): string {
  return 'error' in o ? `error ${o.error}` : `retval ${o.retval >>> 0} data ${hex(o.dataOut)} ctx ${hex(o.ctxOut)}`;
}

/** A frame: destination MAC, source MAC, EtherType, then `payload` (or `len` bytes counting up). */
export function frame(dst: readonly number[], etherType: number, payload: Uint8Array | number = 46): Uint8Array {
  const body = typeof payload === 'number' ? new Uint8Array(payload).map((_, i) => (i * 7 + 3) & 0xff) : payload;
  const f = new Uint8Array(14 + body.length);
  f.set(dst, 0);
  f.set([0x02, 0, 0, 0, 0, 0x02], 6);
  f[12] = etherType >> 8;
  f[13] = etherType & 0xff;
  f.set(body, 14);
  return f;
}

/** Sample frames: IPv4/IPv6/ARP to host, broadcast, multicast, other host; VLAN-tagged; raw 802.3 and 802.2. */
export const FRAMES: readonly { name: string; data: Uint8Array }[] = [
  { name: 'ipv4 host', data: frame([0, 0, 0, 0, 0, 0], 0x0800, 46) },
  { name: 'ipv6 otherhost', data: frame([0x02, 1, 2, 3, 4, 5], 0x86dd, 60) },
  { name: 'arp broadcast', data: frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x0806, 28) },
  { name: 'multicast', data: frame([0x01, 0x00, 0x5e, 0, 0, 1], 0x0800, 40) },
  { name: 'vlan', data: frame([0, 0, 0, 0, 0, 0], 0x8100, new Uint8Array([0x20, 0x05, 0x08, 0x00, ...new Array<number>(40).fill(9)])) },
  { name: '802.3 raw', data: frame([0, 0, 0, 0, 0, 0], 0x0040, new Uint8Array([0xff, 0xff, 1, 2, 3, 4])) },
  { name: '802.2 llc', data: frame([0, 0, 0, 0, 0, 0], 0x0040, new Uint8Array([0xaa, 0xaa, 3, 0, 0, 0])) },
  { name: 'bare header', data: frame([0, 0, 0, 0, 0, 0], 0x0800, 0) },
];
