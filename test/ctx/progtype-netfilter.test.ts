// netfilter vs the kernel: struct bpf_nf_ctx loads (trusted pointers to nf_hook_state and sk_buff) verified against the
// kernel's BTF as BPF_PROG_LOAD does, verdicts, the hook state's hook and pf, and BPF_PROG_TEST_RUN's input validation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseBtf } from '../../src/btf/index.js';
import type { Btf } from '../../src/btf/index.js';
import { alu64, encode, exit, type Instruction, jmp, label, ldx, program, r0, r1, r2, r3 } from '../../src/isa/index.js';
import { netfilterOps, NfHookState, NF_HOOK_STATE_SIZE } from '../../src/ctx/netfilter.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { verifyInstructions } from '../../src/verifier/verify.js';
import { NotSupportedError } from '../../src/errors.js';
import { createVm, InvalidContextError } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { frame } from './oracle.js';

const ops = netfilterOps;
let btf: Btf | undefined;
const kernelBtf = (): Btf => (btf ??= parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'))));
type Sys = Parameters<Parameters<typeof kernelTest>[1]>[0];

/** Programs: verdicts, the hook state's hook/pf (reported as hook * 16 + pf in bits of the verdict path), skb checks. */
function programs(): { name: string; insns: Instruction[]; reads?: 'opaque' }[] {
  const out: { name: string; insns: Instruction[]; reads?: 'opaque' }[] = [
    { name: 'accept', insns: program(alu64.mov.imm(r0, 1), exit()) },
    { name: 'drop', insns: program(alu64.mov.imm(r0, 0), exit()) },
    { name: 'skb non-NULL', insns: program(ldx.dw(r2, r1, 8), alu64.mov.imm(r0, 0), jmp.jeq.imm(r2, 0, 'out'), alu64.mov.imm(r0, 1), label('out'), exit()) },
    { name: 'state->in is NULL (default hook LOCAL_OUT)', insns: program(ldx.dw(r2, r1, 0), ldx.dw(r3, r2, NfHookState.in), alu64.mov.imm(r0, 1), jmp.jeq.imm(r3, 0, 'out'), alu64.mov.imm(r0, 0), label('out'), exit()) },
    { name: 'state->out is set', insns: program(ldx.dw(r2, r1, 0), ldx.dw(r3, r2, NfHookState.out), alu64.mov.imm(r0, 0), jmp.jeq.imm(r3, 0, 'out'), alu64.mov.imm(r0, 1), label('out'), exit()) },
  ];
  // One program per (field, value): accept iff state->field == value, so the verdicts spell hook and pf out.
  for (const [field, off, values] of [['hook', NfHookState.hook, [0, 1, 2, 3, 4]], ['pf', NfHookState.pf, [2, 10]]] as const) {
    for (const v of values) {
      out.push({ name: `state->${field} == ${v}`, insns: program(ldx.dw(r2, r1, 0), ldx.b(r3, r2, off), alu64.mov.imm(r0, 0), jmp.jne.imm(r3, v, 'out'), alu64.mov.imm(r0, 1), label('out'), exit()) });
    }
  }
  out.push({ name: 'hook|pf<<8 as a u16', insns: program(ldx.dw(r2, r1, 0), ldx.h(r3, r2, 0), alu64.mov.imm(r0, 0), jmp.jne.imm(r3, 0x0203, 'out'), alu64.mov.imm(r0, 1), label('out'), exit()) });
  out.push({ name: 'skb->len (no userspace layout)', reads: 'opaque', insns: program(ldx.dw(r2, r1, 8), ldx.w(r3, r2, 112), alu64.mov.imm(r0, 0), jmp.jeq.imm(r3, 0, 'out'), alu64.mov.imm(r0, 1), label('out'), exit()) });
  return out;
}

const hookState = (hook: number, pf: number, extra: Record<number, number> = {}, length = NF_HOOK_STATE_SIZE): Uint8Array => {
  const b = new Uint8Array(length);
  b[NfHookState.hook] = hook;
  b[NfHookState.pf] = pf;
  for (const [o, v] of Object.entries(extra)) b[Number(o)] = v;
  return b;
};

const ip4 = new Uint8Array(40).map((_, i) => i);
ip4[0] = 0x45;
const ip6 = new Uint8Array(60).map((_, i) => i);
ip6[0] = 0x60;
const INPUTS: [string, Uint8Array, Uint8Array | undefined][] = [
  ['LOCAL_OUT ipv4 packet', ip4, undefined],
  ['LOCAL_OUT ipv6 (pf IPV6)', ip6, hookState(3, 10)],
  ['PRE_ROUTING ipv4 frame', frame([0, 0, 0, 0, 0, 0], 0x0800, ip4), hookState(0, 2)],
  ['LOCAL_IN ipv4 frame', frame([0, 0, 0, 0, 0, 0], 0x0800, ip4), hookState(1, 2)],
  ['FORWARD ipv6 frame', frame([0, 0, 0, 0, 0, 0], 0x86dd, ip6), hookState(2, 10)],
  ['POST_ROUTING ipv4 frame', frame([0, 0, 0, 0, 0, 0], 0x0800, ip4), hookState(4, 2)],
  ['hook 7 ipv4 frame', frame([0, 0, 0, 0, 0, 0], 0x0800, ip4), hookState(7, 2)],
  ['ipv4 frame, pf IPV6', frame([0, 0, 0, 0, 0, 0], 0x0800, ip4), hookState(0, 10)],
  ['arp frame', frame([0, 0, 0, 0, 0, 0], 0x0806, 28), hookState(0, 2)],
  ['short ipv6 frame', frame([0, 0, 0, 0, 0, 0], 0x86dd, 30), hookState(0, 10)],
  ['short packet', new Uint8Array(19), undefined],
  ['short frame', frame([0, 0, 0, 0, 0, 0], 0x0800, 10), hookState(1, 2)],
  ['pf 7', ip4, hookState(3, 7)],
  ['in set', ip4, hookState(3, 2, { [NfHookState.in]: 1 })],
  ['okfn set', ip4, hookState(3, 2, { [NfHookState.okfn + 7]: 1 })],
  ['padding byte 2 set', ip4, hookState(3, 2, { 2: 1 })],
  ['short ctx', ip4, hookState(1, 2, {}, 2)],
  ['long ctx, zero tail', ip4, hookState(3, 2, {}, 64)],
  ['long ctx, non-zero tail', ip4, hookState(3, 2, { 60: 1 }, 64)],
  ['too big', new Uint8Array(4000), undefined],
];

function kernelOutcome(prog: Parameters<typeof testRun>[0], data: Uint8Array, ctxIn: Uint8Array | undefined): string {
  try {
    return `retval ${testRun(prog, { dataIn: data, dataOutSize: 0, ...(ctxIn ? { ctxIn } : {}) }).retval}`;
  } catch (err) {
    if (err instanceof KernelError) return `error ${err.errnoName}`;
    throw err;
  }
}

function userOutcome(insns: Instruction[], data: Uint8Array, ctxIn: Uint8Array | undefined): string {
  try {
    return `retval ${createVm(insns, { programType: ops }).run(ctxIn, data).retval}`;
  } catch (err) {
    if (err instanceof InvalidContextError) return `error ${/\((E[A-Z0-9]+)\)/.exec(err.reason)?.[1] ?? 'EINVAL'}`;
    if (err instanceof NotSupportedError) return 'not supported';
    throw err;
  }
}

kernelTest('netfilter: verdicts, the hook state and input validation equal BPF_PROG_TEST_RUN; verifier verdicts equal BPF_PROG_LOAD (with the kernel BTF)', (sys: Sys) => {
  const diffs: string[] = [];
  let runs = 0;
  for (const p of programs()) {
    let kernelVerdict: string | undefined;
    let prog;
    try {
      prog = loadProgram(sys, { type: ops.type, insns: encode(p.insns), license: 'GPL', name: 'bk_nf', expectedAttachType: ops.expectedAttachType! });
    } catch (err) {
      if (!(err instanceof VerifierError)) throw err;
      kernelVerdict = err.summary;
    }
    const mine = verifyInstructions(p.insns, { programType: ops.type, kernelBtf: kernelBtf() });
    const myVerdict = mine.verdict === 'accept' ? undefined : (mine.message ?? 'rejected');
    if ((kernelVerdict === undefined) !== (myVerdict === undefined)) diffs.push(`${p.name}: kernel ${kernelVerdict ?? 'accepts'}, bpfkit ${myVerdict ?? 'accepts'}`);
    if (!prog) continue;
    using loaded = prog;
    for (const [name, data, ctx] of INPUTS) {
      const k = kernelOutcome(loaded, data, ctx);
      const m = userOutcome(p.insns, data, ctx);
      runs++;
      // A read of a kernel struct bpfkit has no layout for fails clearly instead of guessing.
      if (p.reads === 'opaque' && k.startsWith('retval') && m === 'not supported') continue;
      if (k !== m) diffs.push(`${p.name} on ${name}: kernel ${k}, bpfkit ${m}`);
    }
  }
  process.stdout.write(`# netfilter: ${programs().length} programs, ${runs} runs compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

kernelTest('netfilter: the verifier refuses what the kernel refuses (stores, returns outside [NF_DROP, NF_ACCEPT], unknown fields)', (sys: Sys) => {
  const cases: [string, Instruction[]][] = [
    ['return 2', program(alu64.mov.imm(r0, 2), exit())],
    ['store to ctx', program(alu64.mov.imm(r2, 0), { ...ldx.dw(r2, r1, 0), code: 0x7b }, alu64.mov.imm(r0, 1), exit())],
    ['store to the hook state', program(ldx.dw(r2, r1, 0), alu64.mov.imm(r3, 1), { ...ldx.b(r2, r3, 0), code: 0x73, dst: 2, src: 3 }, alu64.mov.imm(r0, 1), exit())],
    ['read past nf_hook_state', program(ldx.dw(r2, r1, 0), ldx.dw(r3, r2, 48), alu64.mov.imm(r0, 1), exit())],
    ['4-byte load of ctx->skb', program(ldx.w(r2, r1, 8), alu64.mov.imm(r0, 1), exit())],
  ];
  const diffs: string[] = [];
  for (const [name, insns] of cases) {
    let kernel: string | undefined;
    try {
      loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', expectedAttachType: ops.expectedAttachType! }).close();
    } catch (err) {
      if (!(err instanceof VerifierError)) throw err;
      kernel = err.summary;
    }
    const r = verifyInstructions(insns, { programType: ops.type, kernelBtf: kernelBtf() });
    const mine = r.verdict === 'accept' ? undefined : (r.message ?? 'rejected');
    if ((kernel === undefined) !== (mine === undefined) || (kernel && mine && !kernel.includes(mine))) diffs.push(`${name}: kernel ${kernel ?? 'accepts'}, bpfkit ${mine ?? 'accepts'}`);
  }
  assert.deepEqual(diffs, []);
});
