// The differential harness: one program, run in the interpreter and in the kernel (BPF_PROG_TEST_RUN).
import assert from 'node:assert/strict';
import { encode, type Instruction } from '../../src/isa/index.js';
import { ProgType } from '../../src/kernel/bpf/constants.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import type { Sys } from '../../src/kernel/sys.js';
import { run, type RunOptions } from '../../src/vm/index.js';

/** What both backends report for one run. */
export interface Outcome {
  retval: number;
  packet: Uint8Array;
}

/** A backend that runs a raw program on a packet. */
export interface Backend {
  readonly name: string;
  runXdp(insns: readonly Instruction[], packet: Uint8Array): Outcome;
  runSocketFilter(insns: readonly Instruction[], packet: Uint8Array): Outcome;
}

/** The reference interpreter as a backend. */
export function interpreterBackend(options: RunOptions = {}): Backend {
  return {
    name: 'interpreter',
    runXdp: (insns, packet) => {
      const r = run(insns, undefined, packet, options);
      return { retval: r.retval, packet: r.packet };
    },
    // A socket filter's test run pulls the Ethernet header: skb->data is byte 14 of the frame.
    runSocketFilter: (insns, packet) => {
      const r = run(insns, undefined, packet, { ...options, skb: { data: 14 } });
      return { retval: r.retval, packet: r.packet };
    },
  };
}

/** The running kernel as a backend: load, BPF_PROG_TEST_RUN, close. */
export function kernelBackend(sys: Sys): Backend {
  const go = (type: number, insns: readonly Instruction[], packet: Uint8Array): Outcome => {
    using prog = loadProgram(sys, { type, insns: encode(insns), license: 'GPL', name: 'bk_vm_oracle' });
    const r = testRun(prog, { dataIn: packet });
    return { retval: r.retval, packet: r.dataOut };
  };
  return {
    name: 'kernel',
    runXdp: (insns, packet) => go(ProgType.XDP, insns, packet),
    runSocketFilter: (insns, packet) => go(ProgType.SOCKET_FILTER, insns, packet),
  };
}

/** Hex dump of 8-byte little-endian words, for readable diffs. */
export function words(bytes: Uint8Array): string[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  for (let i = 0; i + 8 <= bytes.length; i += 8) out.push(v.getBigUint64(i, true).toString(16).padStart(16, '0'));
  return out;
}

/** Asserts two outcomes agree, naming the first differing 8-byte word via `label(wordIndex)`. */
export function assertSame(kernel: Outcome, mine: Outcome, label: (word: number) => string): void {
  assert.equal(mine.retval, kernel.retval, 'retval');
  assert.equal(mine.packet.length, kernel.packet.length, 'packet length');
  const a = words(kernel.packet);
  const b = words(mine.packet);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) assert.fail(`${label(i)}: kernel 0x${a[i]}, interpreter 0x${b[i]}`);
  }
  assert.deepEqual(mine.packet, kernel.packet);
}

/** A seeded PRNG (mulberry32) for reproducible random tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}
