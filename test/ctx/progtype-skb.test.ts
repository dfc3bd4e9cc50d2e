// cgroup_skb and lwt_in/out/xmit/seg6local vs BPF_PROG_TEST_RUN: every context load the verifier accepts, stores, packet reads, helpers, ctx_in.
//
// cgroup_skb programs may only return 0 or 1, so every program here reports what it read by
// storing it into cb[0..1], which reaches ctx_out, and returns 1.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, type Instruction, jmp, type Label, label, ld, ldx, ldxs, program, r0, r1, r2, r3, r4, r5, r6, r10, st, stx } from '../../src/isa/index.js';
import { cgroupSkbOps } from '../../src/ctx/cgroup-skb.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { lwtInOps, lwtOutOps, lwtSeg6localOps, lwtXmitOps } from '../../src/ctx/lwt.js';
import type { RunnableProgramType } from '../../src/ctx/program-type-ops.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { verifyInstructions } from '../../src/verifier/verify.js';
import { BpfFuncId } from '../../src/isa/uapi.generated.js';
import { kernelTest } from '../kernel/harness.js';
import { FRAMES, frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

const SIZES = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;
type Size = keyof typeof SIZES;
const RUNNABLE: readonly RunnableProgramType[] = [cgroupSkbOps, lwtInOps, lwtOutOps, lwtXmitOps];
const CB = SkBuff.cb;

/** `body` leaves a value in r2; it goes to cb[0..1] (8 bytes) and the program returns 1. */
const report = (...body: (Instruction | Label)[]): Instruction[] => program(alu64.mov.reg(r6, r1), ...body, stx.dw(r6, CB, r2), alu64.mov.imm(r0, 1), exit());

function skbCtx(fields: Partial<Record<keyof typeof SkBuff, number | bigint>>, cb: number[] = []): Uint8Array {
  const b = new Uint8Array(192);
  const v = new DataView(b.buffer);
  for (const [k, val] of Object.entries(fields)) {
    const off = SkBuff[k as keyof typeof SkBuff];
    if (typeof val === 'bigint') v.setBigUint64(off, val, true);
    else v.setUint32(off, val, true);
  }
  cb.forEach((x, i) => v.setUint32(SkBuff.cb + 4 * i, x, true));
  return b;
}

const CTXS: readonly (Uint8Array | undefined)[] = [
  undefined,
  skbCtx({ mark: 0x11223344, priority: 7, ingress_ifindex: 3, ifindex: 1, tstamp: 123456789012n, wire_len: 1500, gso_segs: 3, gso_size: 1400, hwtstamp: 0x1122334455n }, [1, 0xffffffff, 3, 0x80000000, 5]),
];

/** IPv4 and IPv6 frames with distinct addresses (the test run's socket takes them), ARP, and the oracle's sample frames. */
function frames(): { name: string; data: Uint8Array }[] {
  const ip4 = new Uint8Array(40).map((_, i) => i + 1);
  ip4[0] = 0x45;
  const ip6 = new Uint8Array(60).map((_, i) => 0x80 + i);
  ip6[0] = 0x60;
  return [{ name: 'ipv4 addrs', data: frame([0, 0, 0, 0, 0, 0], 0x0800, ip4) }, { name: 'ipv6 addrs', data: frame([0, 0, 0, 0, 0, 0], 0x86dd, ip6) }, ...FRAMES];
}

type Sys = Parameters<Parameters<typeof kernelTest>[1]>[0];

/** Loads each program in the kernel and in bpfkit's verifier (verdicts must agree), then runs the accepted ones on every frame and ctx. */
function compare(sys: Sys, ops: RunnableProgramType, programs: { name: string; insns: Instruction[] }[], ctxs: readonly (Uint8Array | undefined)[] = CTXS): { runs: number; loaded: number } {
  const diffs: string[] = [];
  let runs = 0;
  let loaded = 0;
  const fs = frames();
  for (const p of programs) {
    let prog;
    let kernelVerdict: string | undefined;
    try {
      prog = loadProgram(sys, { type: ops.type, insns: encode(p.insns), license: 'GPL', name: 'bk_progtype' });
    } catch (err) {
      if (!(err instanceof VerifierError)) throw err;
      kernelVerdict = err.summary;
    }
    const mine = verifyInstructions(p.insns, { programType: ops.type });
    const myVerdict = mine.verdict === 'accept' ? undefined : (mine.message ?? 'rejected');
    if ((kernelVerdict === undefined) !== (myVerdict === undefined)) diffs.push(`${ops.name} ${p.name}: kernel ${kernelVerdict ?? 'accepts'}, bpfkit ${myVerdict ?? 'accepts'}`);
    if (!prog) continue;
    loaded++;
    try {
      for (const f of fs) {
        for (const ctx of ctxs) {
          const k = summary(kernelRunLoaded(prog, ops, f.data, ctx));
          const m = summary(vmRun(ops, p.insns, f.data, ctx, { env: createHelperEnv() }));
          runs++;
          if (k !== m) diffs.push(`${ops.name} ${p.name} on ${f.name} ctx ${ctx ? 'given' : 'none'}:\n  kernel  ${k}\n  bpfkit  ${m}`);
        }
      }
    } finally {
      prog.close();
    }
  }
  assert.equal(diffs.length, 0, `${diffs.length} disagreements:\n${diffs.slice(0, Number(process.env.BK_DIFFS ?? 12)).join('\n')}`);
  return { runs, loaded };
}

/** Every context load checkAccess accepts (scalars, sign-extending too), reported through cb. */
function fieldPrograms(ops: RunnableProgramType): { name: string; insns: Instruction[] }[] {
  const out: { name: string; insns: Instruction[] }[] = [];
  for (let off = 0; off < ops.ctxSize; off++) {
    for (const size of [1, 2, 4, 8] as Size[]) {
      const c = ops.checkAccess(off, size, false);
      if ('reason' in c || c.type !== 'scalar') continue;
      const s = SIZES[size];
      out.push({ name: `${c.field}@${off}/${size}`, insns: report(ldx[s](r2, r6, off)) });
      if (s !== 'dw') out.push({ name: `${c.field}@${off}/${size} sx`, insns: report(ldxs[s](r2, r6, off)) });
    }
  }
  return out;
}

/** Direct packet reads at several offsets and sizes after the bounds check, and the pointer difference. */
function packetPrograms(): { name: string; insns: Instruction[] }[] {
  const out: { name: string; insns: Instruction[] }[] = [
    { name: 'data_end - data', insns: report(ldx.w(r3, r6, SkBuff.data), ldx.w(r2, r6, SkBuff.data_end), alu64.sub.reg(r2, r3)) },
  ];
  for (const [off, size] of [[0, 1], [0, 8], [2, 2], [12, 4], [16, 4], [30, 8], [40, 4]] as const) {
    out.push({
      name: `pkt[${off}]/${size}`,
      insns: report(
        alu64.mov.imm(r2, -1),
        ldx.w(r3, r6, SkBuff.data),
        ldx.w(r4, r6, SkBuff.data_end),
        alu64.mov.reg(r5, r3),
        alu64.add.imm(r5, off + size),
        jmp.jgt.reg(r5, r4, 'out'),
        ldx[SIZES[size]](r2, r3, off),
        label('out'),
      ),
    });
  }
  // A direct packet store: lwt_xmit may write the packet, the others may not (may_access_direct_pkt_data).
  out.push({
    name: 'pkt[1] = 0x77',
    insns: report(alu64.mov.imm(r2, 0), ldx.w(r3, r6, SkBuff.data), ldx.w(r4, r6, SkBuff.data_end), alu64.mov.reg(r5, r3), alu64.add.imm(r5, 4), jmp.jgt.reg(r5, r4, 'out'), st.b(r3, 1, 0x77), ldx.w(r2, r3, 0), label('out')),
  });
  return out;
}

/** Loads through __sk_buff.sk (the test run's socket), where the type allows it. */
function sockPrograms(): { name: string; insns: Instruction[] }[] {
  const out: { name: string; insns: Instruction[] }[] = [];
  for (const [off, size] of [[0, 4], [4, 4], [4, 2], [8, 4], [12, 4], [24, 4], [28, 4], [44, 4], [48, 4], [52, 4], [56, 4], [68, 4], [72, 4], [72, 1], [76, 4]] as const) {
    out.push({ name: `sk+${off}/${size}`, insns: report(ldx.dw(r3, r6, SkBuff.sk), alu64.mov.imm(r2, -2), jmp.jeq.imm(r3, 0, 'out'), ldx[SIZES[size]](r2, r3, off), label('out')) });
  }
  return out;
}

kernelTest('cgroup_skb and lwt: every context load the verifier accepts reads what the kernel reads', (sys) => {
  for (const ops of RUNNABLE) {
    const programs = [...fieldPrograms(ops), ...packetPrograms(), ...sockPrograms()];
    const { runs, loaded } = compare(sys, ops, programs);
    process.stdout.write(`# ${ops.name}: ${programs.length} programs (${loaded} the kernel loads), ${runs} runs compared with the kernel\n`);
    assert.ok(loaded > 40);
  }
});

kernelTest('cgroup_skb and lwt: stores to every writable field reach ctx_out as in the kernel', (sys) => {
  for (const ops of RUNNABLE) {
    const programs: { name: string; insns: Instruction[] }[] = [];
    for (let off = 0; off < ops.ctxSize; off++) {
      for (const size of [1, 2, 4, 8] as Size[]) {
        const c = ops.checkAccess(off, size, true);
        if ('reason' in c) continue;
        for (const value of [0x12345, 0xfffffffe]) {
          programs.push({ name: `${c.field}@${off}/${size} = 0x${value.toString(16)}`, insns: program(ld.imm64(r2, value), stx[SIZES[size]](r1, off, r2), st.w(r1, SkBuff.cb + 16, 7), alu64.mov.imm(r0, 1), exit()) });
        }
      }
    }
    const { runs } = compare(sys, ops, programs);
    process.stdout.write(`# ${ops.name}: ${programs.length} stores, ${runs} runs compared with the kernel\n`);
    assert.ok(programs.length >= 8);
  }
});

/** `r2 = helper(...)` programs: loads of packet bytes into the stack, then the result and the bytes. */
function helperPrograms(ops: RunnableProgramType): { name: string; insns: Instruction[] }[] {
  const out: { name: string; insns: Instruction[] }[] = [];
  for (const [off, len] of [[0, 4], [0, 8], [10, 8], [30, 16], [40, 8], [-1, 4], [0, 0x40]] as const) {
    out.push({
      name: `skb_load_bytes(${off}, ${len})`,
      insns: report(st.dw(r10, -0x40, 0), alu64.mov.reg(r1, r6), alu64.mov.imm(r2, off), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -0x40), alu64.mov.imm(r4, len), call.helper(BpfFuncId.skb_load_bytes), ldx.dw(r2, r10, -0x40), alu64.xor.reg(r2, r0)),
    });
  }
  if (ops.helperAllowed(BpfFuncId.skb_load_bytes_relative)) {
    for (const [off, hdr] of [[0, 0], [0, 1], [4, 1], [20, 1], [-14, 1]] as const) {
      out.push({
        name: `skb_load_bytes_relative(${off}, ${hdr})`,
        insns: report(st.dw(r10, -8, 0), alu64.mov.reg(r1, r6), alu64.mov.imm(r2, off), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -8), alu64.mov.imm(r4, 8), alu64.mov.imm(r5, hdr), call.helper(BpfFuncId.skb_load_bytes_relative), ldx.dw(r2, r10, -8), alu64.xor.reg(r2, r0)),
      });
    }
  }
  if (ops.helperAllowed(BpfFuncId.csum_diff)) {
    out.push({ name: 'csum_diff(stack 8)', insns: report(st.dw(r10, -8, 0x01020304), alu64.mov.imm(r1, 0), alu64.mov.imm(r2, 0), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -8), alu64.mov.imm(r4, 8), alu64.mov.imm(r5, 0x1234), call.helper(BpfFuncId.csum_diff), alu64.mov.reg(r2, r0)) });
  }
  if (ops.helperAllowed(BpfFuncId.skb_pull_data)) {
    for (const len of [0, 10, 46, 100]) out.push({ name: `skb_pull_data(${len})`, insns: report(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, len), call.helper(BpfFuncId.skb_pull_data), alu64.mov.reg(r2, r0)) });
  }
  // The kernel keys the flow hash with a per-boot secret: compare what is observable (stored in skb->hash, not 0, stable).
  if (ops.helperAllowed(BpfFuncId.get_hash_recalc)) {
    out.push({
      name: 'get_hash_recalc',
      insns: report(alu64.mov.reg(r1, r6), call.helper(BpfFuncId.get_hash_recalc), alu64.mov.reg(r2, r0), ldx.w(r3, r6, SkBuff.hash), alu64.mov.imm(r4, 1), jmp.jeq.reg(r2, r3, 'same'), alu64.mov.imm(r4, 2), label('same'), jmp.jne.imm(r2, 0, 'nz'), alu64.or.imm(r4, 4), label('nz'), alu64.mov.reg(r2, r4)),
    });
  }
  for (const [name, id] of [['get_route_realm', BpfFuncId.get_route_realm], ['get_cgroup_classid', BpfFuncId.get_cgroup_classid], ['set_hash_invalid', BpfFuncId.set_hash_invalid]] as const) {
    if (ops.helperAllowed(id)) out.push({ name, insns: report(alu64.mov.reg(r1, r6), call.helper(id), alu64.mov.reg(r2, r0), ldx.w(r3, r6, SkBuff.hash), alu64.lsh.imm(r3, 32), alu64.or.reg(r2, r3)) });
  }
  if (ops.helperAllowed(BpfFuncId.skb_store_bytes)) {
    for (const [off, len, flags] of [[0, 4, 0], [10, 8, 0], [44, 4, 0], [-1, 2, 0], [0, 4, 1], [0, 4, 4]] as const) {
      out.push({ name: `skb_store_bytes(${off}, ${len}, ${flags})`, insns: report(st.dw(r10, -8, 0x5a5a5a5a), alu64.mov.reg(r1, r6), alu64.mov.imm(r2, off), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -8), alu64.mov.imm(r4, len), alu64.mov.imm(r5, flags), call.helper(BpfFuncId.skb_store_bytes), alu64.mov.reg(r2, r0)) });
    }
  }
  if (ops.helperAllowed(BpfFuncId.skb_change_tail)) {
    for (const len of [20, 46, 80]) out.push({ name: `skb_change_tail(${len})`, insns: report(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, len), alu64.mov.imm(r3, 0), call.helper(BpfFuncId.skb_change_tail), alu64.mov.reg(r2, r0), ldx.w(r3, r6, SkBuff.len), alu64.lsh.imm(r3, 32), alu64.or.reg(r2, r3)) });
  }
  if (ops.helperAllowed(BpfFuncId.skb_change_head)) {
    for (const len of [0, 8, 14]) out.push({ name: `skb_change_head(${len})`, insns: report(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, len), alu64.mov.imm(r3, 0), call.helper(BpfFuncId.skb_change_head), alu64.mov.reg(r2, r0), ldx.w(r3, r6, SkBuff.len), alu64.lsh.imm(r3, 32), alu64.or.reg(r2, r3)) });
  }
  if (ops.helperAllowed(BpfFuncId.l3_csum_replace)) {
    out.push({ name: 'l3_csum_replace', insns: report(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, 10), alu64.mov.imm(r3, 0x1234), alu64.mov.imm(r4, 0x4321), alu64.mov.imm(r5, 2), call.helper(BpfFuncId.l3_csum_replace), alu64.mov.reg(r2, r0)) });
  }
  return out;
}

/** The helper runs: no ctx_in, a GSO one (bpf_skb_change_tail resets its GSO fields: skb_gso_reset), a plain one. */
const HELPER_CTXS: readonly (Uint8Array | undefined)[] = [...CTXS, skbCtx({ mark: 5, priority: 7, ingress_ifindex: 3, tstamp: 99n, wire_len: 1500, gso_segs: 3 }, [1, 2, 3, 4, 5])];

kernelTest('cgroup_skb and lwt: packet helpers return and change what the kernel does', (sys) => {
  for (const ops of RUNNABLE) {
    const programs = helperPrograms(ops);
    const { runs, loaded } = compare(sys, ops, programs, HELPER_CTXS);
    process.stdout.write(`# ${ops.name}: ${programs.length} helper programs (${loaded} the kernel loads), ${runs} runs compared with the kernel\n`);
    assert.ok(loaded >= 7);
  }
});

kernelTest('cgroup_skb and lwt: ctx_in and data_in validation as the kernel does it', (sys) => {
  let compared = 0;
  const diffs: string[] = [];
  for (const ops of RUNNABLE) {
    const insns = report(ldx.w(r2, r6, SkBuff.mark));
    using prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_progtype_in' });
    const data = FRAMES[0]!.data;
    const cases: [Uint8Array, Uint8Array | undefined][] = [];
    for (let off = 0; off < 192; off += 4) {
      const c = new Uint8Array(192);
      new DataView(c.buffer).setUint32(off, 1, true);
      cases.push([data, c]);
    }
    cases.push([data, skbCtx({ ifindex: 9999 })], [data, skbCtx({ wire_len: 10 })], [data, skbCtx({ wire_len: 65537 })], [data, new Uint8Array(100)]);
    for (const len of [13, 14, 20, 33, 34, 3712, 3713]) {
      const d = new Uint8Array(len);
      d[12] = 8;
      d[14] = 0x45;
      cases.push([d, undefined]);
    }
    for (const [d, ctx] of cases) {
      const k = summary(kernelRunLoaded(prog, ops, d, ctx));
      const m = summary(vmRun(ops, insns, d, ctx));
      compared++;
      if (k !== m) diffs.push(`${ops.name} data ${d.length} ctx ${ctx ? Buffer.from(ctx).toString('hex').replace(/(00)+$/, '') : '-'}:\n  kernel ${k.slice(0, 60)}\n  bpfkit ${m.slice(0, 60)}`);
    }
  }
  process.stdout.write(`# ctx_in/data_in validation: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

kernelTest('lwt_seg6local: verified like the kernel, and not test-runnable there nor here', (sys) => {
  const programs = [...fieldPrograms(lwtSeg6localOps).slice(0, 20), ...packetPrograms()];
  let loaded = 0;
  for (const p of programs) {
    let loadedProg;
    try {
      loadedProg = loadProgram(sys, { type: lwtSeg6localOps.type, insns: encode(p.insns), license: 'GPL', name: 'bk_seg6' });
    } catch (err) {
      // Refused (the direct packet store): bpfkit's verifier refuses it too.
      if (!(err instanceof VerifierError)) throw err;
      assert.equal(verifyInstructions(p.insns, { programType: lwtSeg6localOps.type }).verdict, 'reject', p.name);
      continue;
    }
    using prog = loadedProg;
    loaded++;
    let kernel = '';
    try {
      testRun(prog, { dataIn: FRAMES[0]!.data });
    } catch (err) {
      if (!(err instanceof KernelError)) throw err;
      kernel = err.errnoName;
    }
    assert.equal(kernel, 'ENOTSUPP');
    const mine = vmRun(lwtSeg6localOps, p.insns, FRAMES[0]!.data);
    assert.ok('error' in mine && mine.error.startsWith('not supported'), `${p.name}: ${summary(mine)}`);
    assert.equal(verifyInstructions(p.insns, { programType: lwtSeg6localOps.type }).verdict, 'accept', p.name);
  }
  assert.ok(loaded > 20);
});
