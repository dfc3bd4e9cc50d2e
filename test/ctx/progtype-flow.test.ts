// flow_dissector vs the kernel: the verifier's flow-keys rules (every offset, size, direction), and BPF_PROG_TEST_RUN
// (struct bpf_flow_keys as data_out, ctx_in flags, clamping of nhoff/thoff) on builder programs and a clang-built dissector.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { alu64, atomic, call, encode, exit, type Instruction, jmp, type Label, label, ld, ldx, ldxs, program, r0, r1, r2, r3, r4, r5, r6, r10, st, stx } from '../../src/isa/index.js';
import { BpfFuncId } from '../../src/isa/uapi.generated.js';
import { BpfFlowKeys, flowDissectorOps } from '../../src/ctx/flow-dissector.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { verifyInstructions } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturePath } from '../support/fixtures.js';
import { frame, FRAMES, kernelRunLoaded, summary, vmRun } from './oracle.js';

const ops = flowDissectorOps;
const SIZES = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;
type Size = keyof typeof SIZES;
type Sys = Parameters<Parameters<typeof kernelTest>[1]>[0];

/** r6 = flow_keys, r7 = data, r8 = data_end; then `body`. */
const withKeys = (...body: (Instruction | Label)[]): Instruction[] => program(ldx.dw(r6, r1, SkBuff.flow_keys), ...body);

/** The kernel's verdict (undefined: accepted) and bpfkit's, on one program. */
function verdicts(sys: Sys, insns: Instruction[]): { kernel: string | undefined; mine: string | undefined } {
  let kernel: string | undefined;
  try {
    loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL' }).close();
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    kernel = err.summary;
  }
  const r = verifyInstructions(insns, { programType: ops.type });
  return { kernel, mine: r.verdict === 'accept' ? undefined : (r.message ?? 'rejected') };
}

kernelTest('flow_dissector: flow keys accesses — every offset, size, load and store — get the kernel verifier\'s verdict and message', (sys) => {
  const diffs: string[] = [];
  let compared = 0;
  const cases: [string, Instruction[]][] = [];
  for (let off = -4; off < 64; off++) {
    for (const size of [1, 2, 4, 8] as Size[]) {
      const s = SIZES[size];
      cases.push([`load +${off}/${size}`, withKeys(ldx[s](r0, r6, off), alu64.mov.imm(r0, 0), exit())]);
      cases.push([`store reg +${off}/${size}`, withKeys(alu64.mov.imm(r2, 7), stx[s](r6, off, r2), alu64.mov.imm(r0, 0), exit())]);
      cases.push([`store imm +${off}/${size}`, withKeys(st[s](r6, off, 7), alu64.mov.imm(r0, 0), exit())]);
    }
  }
  cases.push(
    ['const offset then load', withKeys(alu64.add.imm(r6, 8), ldx.w(r0, r6, 40), exit())],
    ['const offset past the end', withKeys(alu64.add.imm(r6, 8), ldx.w(r0, r6, 48), exit())],
    ['const subtraction', withKeys(alu64.sub.imm(r6, 4), ldx.w(r0, r6, 4), exit())],
    ['variable offset', withKeys(ldx.w(r2, r1, SkBuff.data), ldx.w(r3, r1, SkBuff.data_end), alu64.mov.reg(r4, r2), alu64.add.imm(r4, 1), jmp.jgt.reg(r4, r3, 'out'), ldx.b(r5, r2, 0), alu64.and.imm(r5, 7), alu64.add.reg(r6, r5), ldx.b(r0, r6, 0), label('out'), alu64.mov.imm(r0, 0), exit())],
    ['32-bit arithmetic', withKeys(alu64.mov.reg(r2, r6), { ...alu64.add.imm(r2, 1), code: 0x04 }, alu64.mov.imm(r0, 0), exit())],
    ['atomic add', withKeys(alu64.mov.imm(r2, 1), atomic.w.add(r6, 0, r2), alu64.mov.imm(r0, 0), exit())],
    ['pointer stored into flow keys', withKeys(stx.dw(r6, 16, r10), alu64.mov.imm(r0, 0), exit())],
    ['flow keys as helper memory', withKeys(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, 8), alu64.mov.reg(r3, r6), alu64.mov.imm(r4, 8), alu64.mov.imm(r5, 0), call.helper(BpfFuncId.csum_diff), alu64.mov.imm(r0, 0), exit())],
    ['flow keys into load_bytes', withKeys(alu64.mov.imm(r2, 0), alu64.mov.reg(r3, r6), alu64.mov.imm(r4, 8), call.helper(BpfFuncId.skb_load_bytes), alu64.mov.imm(r0, 0), exit())],
    ['flow keys returned', withKeys(alu64.mov.reg(r0, r6), exit())],
    ['sign-extending load of data', program(ldxs.w(r2, r1, SkBuff.data), alu64.mov.imm(r0, 0), exit())],
    ['packet store', program(ldx.w(r2, r1, SkBuff.data), ldx.w(r3, r1, SkBuff.data_end), alu64.mov.reg(r4, r2), alu64.add.imm(r4, 1), jmp.jgt.reg(r4, r3, 'out'), st.b(r2, 0, 1), label('out'), alu64.mov.imm(r0, 0), exit())],
    ['packet pointer to map_lookup? (csum_diff on packet)', program(ldx.w(r2, r1, SkBuff.data), ldx.w(r3, r1, SkBuff.data_end), alu64.mov.reg(r4, r2), alu64.add.imm(r4, 8), jmp.jgt.reg(r4, r3, 'out'), alu64.mov.reg(r1, r2), alu64.mov.imm(r2, 8), alu64.mov.imm(r3, 0), alu64.mov.imm(r4, 0), alu64.mov.imm(r5, 0), call.helper(BpfFuncId.csum_diff), label('out'), alu64.mov.imm(r0, 0), exit())],
  );
  for (const [name, insns] of cases) {
    const { kernel, mine } = verdicts(sys, insns);
    compared++;
    if ((kernel === undefined) !== (mine === undefined) || (kernel !== undefined && mine !== undefined && !kernel.includes(mine))) diffs.push(`${name}: kernel ${kernel ?? 'accepts'}, bpfkit ${mine ?? 'accepts'}`);
  }
  process.stdout.write(`# flow_dissector: ${compared} verifier verdicts compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

/** Builder programs exercising the test run: keys written and clamped, initial keys read, the packet read, load_bytes, return values. */
function runPrograms(): { name: string; insns: Instruction[] }[] {
  const out: { name: string; insns: Instruction[] }[] = [];
  for (const ret of [0, 1, 2, -1, 0x7fffffff]) out.push({ name: `return ${ret}`, insns: program(alu64.mov.imm(r0, ret), exit()) });
  // Initial keys copied into spare fields, so data_out shows them.
  out.push({ name: 'initial keys echoed', insns: withKeys(ldx.h(r2, r6, BpfFlowKeys.n_proto), stx.h(r6, BpfFlowKeys.sport, r2), ldx.w(r2, r6, BpfFlowKeys.flags), stx.w(r6, BpfFlowKeys.ipv4_src, r2), ldx.dw(r2, r6, 0), stx.dw(r6, 24, r2), alu64.mov.imm(r0, 0), exit()) });
  for (const [nh, th] of [[0, 0], [5, 3], [14, 14], [20, 10], [20, 40], [50, 60], [100, 200], [0xffff, 0xffff], [30, 0x8000]] as const) {
    out.push({ name: `nhoff ${nh} thoff ${th}`, insns: withKeys(st.h(r6, BpfFlowKeys.nhoff, nh), st.h(r6, BpfFlowKeys.thoff, th), alu64.mov.imm(r0, 0), exit()) });
  }
  for (let off = 0; off < 56; off += 4) out.push({ name: `store 0x${(off + 1).toString(16)}a5a5a5 at ${off}`, insns: withKeys(st.w(r6, off, (off + 1) * 0x1000000 + 0xa5a5a5), alu64.mov.imm(r0, 2), exit()) });
  for (const [off, size] of [[0, 1], [0, 8], [12, 2], [14, 4], [30, 8], [50, 4]] as const) {
    out.push({
      name: `packet[${off}]/${size} into keys`,
      insns: withKeys(ldx.w(r2, r1, SkBuff.data), ldx.w(r3, r1, SkBuff.data_end), alu64.mov.reg(r4, r2), alu64.add.imm(r4, off + size), alu64.mov.imm(r0, 9), jmp.jgt.reg(r4, r3, 'out'), ldx[SIZES[size]](r5, r2, off), stx.dw(r6, 16, r5), alu64.mov.imm(r0, 0), label('out'), exit()),
    });
  }
  out.push({ name: 'data_end - data into keys', insns: withKeys(ldx.w(r2, r1, SkBuff.data), ldx.w(r3, r1, SkBuff.data_end), alu64.sub.reg(r3, r2), stx.w(r6, 16, r3), alu64.mov.imm(r0, 0), exit()) });
  for (const [off, len] of [[0, 4], [14, 8], [0x10000, 4]] as const) {
    out.push({
      name: `skb_load_bytes(${off}, ${len})`,
      insns: withKeys(st.dw(r10, -8, -1), alu64.mov.imm(r2, off), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -8), alu64.mov.imm(r4, len), call.helper(BpfFuncId.skb_load_bytes), ldx.dw(r2, r10, -8), stx.dw(r6, 16, r2), stx.w(r6, 32, r0), alu64.mov.imm(r0, 0), exit()),
    });
  }
  out.push({ name: 'ktime-free helpers: get_prandom_u32 unused, map-free loop', insns: withKeys(ld.imm64(r2, 0x1122334455667788n), stx.dw(r6, 40, r2), alu64.mov.imm(r0, 0), exit()) });
  return out;
}

function keysCtx(flags: number, extra: Partial<Record<number, number>> = {}, length = 56): Uint8Array {
  const b = new Uint8Array(length);
  const v = new DataView(b.buffer);
  v.setUint32(BpfFlowKeys.flags, flags, true);
  for (const [off, val] of Object.entries(extra)) v.setUint8(Number(off), val!);
  return b;
}

/** Frames a dissector cares about: TCP/UDP over IPv4 (options, fragments) and IPv6 (flow label, fragment header), VLANs, short and odd ones. */
function corpus(): { name: string; data: Uint8Array }[] {
  const ip4 = (proto: number, opts: { ihl?: number; frag?: number; len?: number } = {}): Uint8Array => {
    const ihl = opts.ihl ?? 5;
    const h = new Uint8Array(ihl * 4 + (opts.len ?? 20)).map((_, i) => (i * 13 + 5) & 0xff);
    h[0] = 0x40 | ihl;
    h[6] = (opts.frag ?? 0) >> 8;
    h[7] = (opts.frag ?? 0) & 0xff;
    h[9] = proto;
    h[ihl * 4 + 12] = 0x50; // tcp doff 5
    return h;
  };
  const ip6 = (next: number, opts: { label?: number; frag?: number; len?: number } = {}): Uint8Array => {
    const h = new Uint8Array(40 + (opts.frag !== undefined ? 8 : 0) + (opts.len ?? 20)).map((_, i) => (i * 11 + 1) & 0xff);
    const label = opts.label ?? 0;
    h[0] = 0x60;
    h[1] = (label >> 16) & 0x0f;
    h[2] = (label >> 8) & 0xff;
    h[3] = label & 0xff;
    h[6] = opts.frag !== undefined ? 44 : next;
    if (opts.frag !== undefined) {
      h[40] = next;
      h[42] = opts.frag >> 8;
      h[43] = opts.frag & 0xff;
      h[48 + 12] = 0x50;
    } else h[40 + 12] = 0x50;
    return h;
  };
  const vlan = (inner: number, payload: Uint8Array): Uint8Array => new Uint8Array([0x00, 0x05, inner >> 8, inner & 0xff, ...payload]);
  const host = [0, 0, 0, 0, 0, 0];
  return [
    { name: 'ipv4 tcp', data: frame(host, 0x0800, ip4(6)) },
    { name: 'ipv4 udp', data: frame(host, 0x0800, ip4(17)) },
    { name: 'ipv4 icmp', data: frame(host, 0x0800, ip4(1)) },
    { name: 'ipv4 options tcp', data: frame(host, 0x0800, ip4(6, { ihl: 8 })) },
    { name: 'ipv4 bad ihl', data: frame(host, 0x0800, ip4(6, { ihl: 3 })) },
    { name: 'ipv4 first fragment', data: frame(host, 0x0800, ip4(17, { frag: 0x2000 })) },
    { name: 'ipv4 later fragment', data: frame(host, 0x0800, ip4(17, { frag: 0x0010 })) },
    { name: 'ipv4 ipip', data: frame(host, 0x0800, ip4(4)) },
    { name: 'ipv4 truncated tcp', data: frame(host, 0x0800, ip4(6, { len: 8 })) },
    { name: 'ipv4 truncated header', data: frame(host, 0x0800, new Uint8Array([0x45, 0, 0, 20])) },
    { name: 'ipv6 tcp', data: frame(host, 0x86dd, ip6(6)) },
    { name: 'ipv6 udp flow label', data: frame(host, 0x86dd, ip6(17, { label: 0xabcde })) },
    { name: 'ipv6 first fragment', data: frame(host, 0x86dd, ip6(6, { frag: 1 })) },
    { name: 'ipv6 later fragment', data: frame(host, 0x86dd, ip6(6, { frag: 0x100 })) },
    { name: 'vlan ipv4 udp', data: frame(host, 0x8100, vlan(0x0800, ip4(17))) },
    { name: 'qinq ipv6 tcp', data: frame(host, 0x88a8, vlan(0x8100, vlan(0x86dd, ip6(6)))) },
    { name: 'vlan truncated', data: frame(host, 0x8100, new Uint8Array([0, 5])) },
    { name: 'bare ethernet', data: frame(host, 0x0800, 0) },
    ...FRAMES.filter((f) => f.name.startsWith('arp') || f.name.startsWith('802')),
  ];
}

const CTXS: readonly (Uint8Array | undefined)[] = [undefined, keysCtx(0), keysCtx(1), keysCtx(2), keysCtx(7)];

function compareRuns(sys: Sys, programs: { name: string; insns: Instruction[] }[], frames: { name: string; data: Uint8Array }[]): number {
  const diffs: string[] = [];
  let runs = 0;
  for (const p of programs) {
    using prog = loadProgram(sys, { type: ops.type, insns: encode(p.insns), license: 'GPL', name: 'bk_flow' });
    assert.equal(verifyInstructions(p.insns, { programType: ops.type }).verdict, 'accept', `${p.name}: bpfkit's verifier refuses what the kernel loads`);
    for (const f of frames) {
      for (const ctx of CTXS) {
        const k = summary(kernelRunLoaded(prog, ops, f.data, ctx));
        const m = summary(vmRun(ops, p.insns, f.data, ctx, { env: createHelperEnv() }));
        runs++;
        if (k !== m) diffs.push(`${p.name} on ${f.name} ctx ${ctx ? Buffer.from(ctx).toString('hex').slice(96, 104) : '-'}:\n  kernel  ${k}\n  bpfkit  ${m}`);
      }
    }
  }
  assert.equal(diffs.length, 0, `${diffs.length} disagreements:\n${diffs.slice(0, 12).join('\n')}`);
  return runs;
}

kernelTest('flow_dissector: test runs of builder programs equal BPF_PROG_TEST_RUN (keys out, clamping, flags, load_bytes)', (sys) => {
  const programs = runPrograms();
  const runs = compareRuns(sys, programs, corpus());
  process.stdout.write(`# flow_dissector: ${programs.length} builder programs, ${runs} runs compared with the kernel\n`);
});

kernelTest('flow_dissector: a clang-built dissector (VLAN, IPv4/IPv6, fragments, ports) equals the kernel on a packet corpus', (sys) => {
  const spec = loadObject(new Uint8Array(readFileSync(fixturePath('progtype/progtype_flow_dissector.o'))));
  const p = spec.programs.find((x) => x.name === 'dissect');
  assert.ok(p);
  assert.equal(p.type, ops.type);
  const frames = corpus();
  const runs = compareRuns(sys, [{ name: 'dissect', insns: [...p.instructions] }], frames);
  process.stdout.write(`# flow_dissector: clang dissector, ${frames.length} frames, ${runs} runs compared with the kernel\n`);
});

kernelTest('flow_dissector: ctx_in and data_in validation as the kernel does it', (sys) => {
  const insns = program(alu64.mov.imm(r0, 0), exit());
  using prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_flow_in' });
  const diffs: string[] = [];
  const data = corpus()[0]!.data;
  const cases: [Uint8Array, Uint8Array | undefined][] = [];
  for (let off = 0; off < 56; off++) cases.push([data, keysCtx(0, { [off]: 1 })]);
  cases.push([data, keysCtx(0xffffffff)], [data, keysCtx(1, {}, 60)], [data, keysCtx(1, { 58: 1 }, 60)], [data, keysCtx(1, {}, 52)], [data, new Uint8Array(10)]);
  for (const len of [0, 13, 14, 4096, 4097]) cases.push([new Uint8Array(len), undefined]);
  for (const [d, ctx] of cases) {
    const k = summary(kernelRunLoaded(prog, ops, d, ctx));
    const m = summary(vmRun(ops, insns, d, ctx));
    if (k !== m) diffs.push(`data ${d.length} ctx ${ctx ? Buffer.from(ctx).toString('hex') : '-'}:\n  kernel ${k.slice(0, 80)}\n  bpfkit ${m.slice(0, 80)}`);
  }
  process.stdout.write(`# flow_dissector: ${cases.length} ctx_in/data_in cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});
