// Every readable context field in every size the kernel allows, stores the kernel allows, and
// ctx_in/ctx_out/data_out — tc, socket filter and XDP — vs BPF_PROG_TEST_RUN.
import assert from 'node:assert/strict';
import { alu64, exit, type Instruction, ld, ldx, ldxs, program, r0, r1, r2, r3, stx } from '../../src/isa/index.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { encode } from '../../src/isa/index.js';
import type { RunnableProgramType } from '../../src/ctx/program-type-ops.js';
import { socketFilterOps } from '../../src/ctx/socket-filter.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcActOps, tcOps } from '../../src/ctx/tc.js';
import { XdpMd } from '../../src/ctx/xdp-buff.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { kernelTest } from '../kernel/harness.js';
import { FRAMES, kernelRunLoaded, summary, vmRun } from './oracle.js';

const SIZES = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;
type Size = keyof typeof SIZES;

/** Programs that load one field: r0 = the field (its high half for 8-byte loads when `high`). */
function fieldPrograms(ops: RunnableProgramType): { name: string; insns: Instruction[] }[] {
  const out: { name: string; insns: Instruction[] }[] = [];
  for (let off = 0; off < ops.ctxSize; off++) {
    for (const size of [1, 2, 4, 8] as Size[]) {
      const c = ops.checkAccess(off, size, false);
      if ('reason' in c || c.type !== 'scalar') continue;
      out.push({ name: `${c.field}@${off}/${size}`, insns: program(ldx[SIZES[size]](r0, r1, off), exit()) });
      // Sign-extending loads: the high half shows the extension.
      const s = SIZES[size];
      if (s !== 'dw') out.push({ name: `${c.field}@${off}/${size} sx`, insns: program(ldxs[s](r0, r1, off), alu64.rsh.imm(r0, 16), exit()) });
      if (size === 8) out.push({ name: `${c.field}@${off}/8 high`, insns: program(ldx.dw(r0, r1, off), alu64.rsh.imm(r0, 32), exit()) });
    }
  }
  return out;
}

/** Packet pointer arithmetic: data_end - data, data - data_meta. */
function pointerPrograms(data: number, dataEnd: number, dataMeta: number): { name: string; insns: Instruction[] }[] {
  return [
    { name: 'data_end - data', insns: program(ldx.w(r2, r1, data), ldx.w(r0, r1, dataEnd), alu64.sub.reg(r0, r2), exit()) },
    { name: 'data - data_meta', insns: program(ldx.w(r2, r1, dataMeta), ldx.w(r0, r1, data), alu64.sub.reg(r0, r2), exit()) },
  ];
}

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

const SKB_CTXS: readonly (Uint8Array | undefined)[] = [
  undefined,
  skbCtx({ mark: 0x11223344, priority: 7, ingress_ifindex: 3, ifindex: 1, tstamp: 123456789012n, wire_len: 1500, gso_segs: 3, gso_size: 1400, hwtstamp: 0x1122334455n }, [1, 0xffffffff, 3, 0x80000000, 5]),
  skbCtx({ mark: 1 }),
];

function compareAll(sys: Parameters<Parameters<typeof kernelTest>[1]>[0], ops: RunnableProgramType, programs: { name: string; insns: Instruction[] }[], ctxs: readonly ((data: Uint8Array) => Uint8Array | undefined)[]): number {
  let compared = 0;
  const diffs: string[] = [];
  for (const p of programs) {
    using prog = loadProgram(sys, { type: ops.type, insns: encode(p.insns), license: 'GPL', name: 'bk_ctx_field' });
    for (const f of FRAMES) {
      for (const makeCtx of ctxs) {
        const ctx = makeCtx(f.data);
        const k = summary(kernelRunLoaded(prog, ops, f.data, ctx));
        const m = summary(vmRun(ops, p.insns, f.data, ctx));
        compared++;
        if (k !== m) diffs.push(`${p.name} on ${f.name} ctx ${ctx ? 'given' : 'none'}:\n  kernel  ${k}\n  bpfkit  ${m}`);
      }
    }
  }
  assert.equal(diffs.length, 0, `${diffs.length} disagreements:\n${diffs.slice(0, 12).join('\n')}`);
  return compared;
}

kernelTest('tc (sched_cls and sched_act): every readable __sk_buff field and size, with and without ctx_in', (sys) => {
  for (const ops of [tcOps, tcActOps]) {
    const programs = [...fieldPrograms(ops), ...pointerPrograms(SkBuff.data, SkBuff.data_end, SkBuff.data_meta)];
    const n = compareAll(sys, ops, programs, SKB_CTXS.map((c) => () => c));
    process.stdout.write(`# ${ops.name}: ${programs.length} field loads, ${n} runs compared with the kernel\n`);
  }
});

kernelTest('socket filter: every readable __sk_buff field and size, with and without ctx_in', (sys) => {
  const programs = fieldPrograms(socketFilterOps);
  const n = compareAll(sys, socketFilterOps, programs, SKB_CTXS.map((c) => () => c));
  process.stdout.write(`# socket_filter: ${programs.length} field loads, ${n} runs compared with the kernel\n`);
});

function xdpCtx(data: number, dataEnd: number, ingress = 0, queue = 0): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(XdpMd.data, data, true);
  v.setUint32(XdpMd.data_end, dataEnd, true);
  v.setUint32(XdpMd.ingress_ifindex, ingress, true);
  v.setUint32(XdpMd.rx_queue_index, queue, true);
  return b;
}

kernelTest('xdp: every readable xdp_md field, with and without ctx_in (metadata, ingress device)', (sys) => {
  const programs = [...fieldPrograms(xdpOps), ...pointerPrograms(XdpMd.data, XdpMd.data_end, XdpMd.data_meta)];
  const ctxs = [() => undefined, (d: Uint8Array) => xdpCtx(0, d.length), (d: Uint8Array) => xdpCtx(4, d.length, 1, 0), (d: Uint8Array) => xdpCtx(8, d.length, 1)];
  const n = compareAll(sys, xdpOps, programs, ctxs);
  process.stdout.write(`# xdp: ${programs.length} field loads, ${n} runs compared with the kernel\n`);
});

kernelTest('tc and socket filter: stores to every writable field read back and reach ctx_out as in the kernel', (sys) => {
  let compared = 0;
  for (const ops of [tcOps, socketFilterOps]) {
    const programs: { name: string; insns: Instruction[] }[] = [];
    for (let off = 0; off < ops.ctxSize; off++) {
      for (const size of [1, 2, 4, 8] as Size[]) {
        const c = ops.checkAccess(off, size, true);
        if ('reason' in c) continue;
        const wide = off >= SkBuff.tstamp && off < SkBuff.tstamp + 8;
        const field = wide ? SkBuff.tstamp : off - (off % 4);
        const readBack = wide ? [ldx.dw(r0, r1, field), alu64.mov.reg(r3, r0), alu64.rsh.imm(r3, 32), alu64.xor.reg(r0, r3)] : [ldx.w(r0, r1, field)];
        for (const value of [0x12345, 0xfffe, 0xffff, 0xfffffffe]) {
          programs.push({
            name: `${c.field}@${off}/${size} = 0x${value.toString(16)}`,
            // queue_mapping: the kernel skips stores of a register >= 0xffff compared in 64 bits;
            // bpfkit sees only the stored 32 bits, so the high half stays clear there.
            insns: program(ld.imm64(r2, value), alu64.mov.reg(r3, r2), alu64.lsh.imm(r3, off === SkBuff.queue_mapping ? 63 : 32), alu64.rsh.imm(r3, off === SkBuff.queue_mapping ? 31 : 0), alu64.or.reg(r2, r3), stx[SIZES[size]](r1, off, r2), ...readBack, exit()),
          });
        }
      }
    }
    compared += compareAll(sys, ops, programs, [() => undefined, () => SKB_CTXS[1]]);
  }
  process.stdout.write(`# stores: ${compared} runs compared with the kernel\n`);
});

kernelTest('ctx_in: each non-zero word the kernel refuses is refused, the fields it takes are taken', (sys) => {
  const diffs: string[] = [];
  let compared = 0;
  const data = FRAMES[0]!.data;
  for (const ops of [tcOps, socketFilterOps]) {
    const insns = program(ldx.w(r0, r1, SkBuff.mark), exit());
    using prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_in' });
    const ctxs: Uint8Array[] = [];
    for (let off = 0; off < 192; off += 4) {
      const c = new Uint8Array(192);
      new DataView(c.buffer).setUint32(off, 1, true);
      ctxs.push(c);
    }
    ctxs.push(skbCtx({ ifindex: 9999 }), skbCtx({ wire_len: data.length - 15 }), skbCtx({ wire_len: data.length }), skbCtx({ wire_len: 65536 }), skbCtx({ wire_len: 65537 }));
    ctxs.push(skbCtx({ gso_segs: 65535 }), skbCtx({ gso_segs: 65536 }), new Uint8Array(200), new Uint8Array([...new Uint8Array(192), 1]), new Uint8Array(100));
    for (const ctx of ctxs) {
      const k = summary(kernelRunLoaded(prog, ops, data, ctx));
      const m = summary(vmRun(ops, insns, data, ctx));
      compared++;
      if (k !== m) diffs.push(`${ops.name} ctx ${Buffer.from(ctx).toString('hex').replace(/(00)+$/, '')}... (${ctx.length}):\n  kernel ${k}\n  bpfkit ${m}`);
    }
    for (const len of [13, 14, 3712, 3713]) {
      const d = new Uint8Array(len);
      const k = summary(kernelRunLoaded(prog, ops, d));
      const m = summary(vmRun(ops, insns, d));
      compared++;
      if (k !== m) diffs.push(`${ops.name} data_in ${len} bytes: kernel ${k.slice(0, 40)}, bpfkit ${m.slice(0, 40)}`);
    }
  }
  process.stdout.write(`# ctx_in/data_in validation: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

kernelTest('xdp ctx_in: metadata lengths, devices and queues the kernel refuses are refused', (sys) => {
  const insns = program(ldx.w(r2, r1, XdpMd.data), ldx.w(r0, r1, XdpMd.data_end), alu64.sub.reg(r0, r2), exit());
  using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_xdpin' });
  const diffs: string[] = [];
  let compared = 0;
  const cases: [Uint8Array, Uint8Array][] = [];
  const big = new Uint8Array(300).map((_, i) => i);
  for (let meta = 0; meta <= 40; meta++) cases.push([big, xdpCtx(meta, big.length)]);
  for (const meta of [212, 216, 220, 248, 252, 256, 260, 286, 287]) cases.push([big, xdpCtx(meta, big.length)]);
  const small = FRAMES[0]!.data;
  cases.push([small, xdpCtx(0, small.length, 1, 1)], [small, xdpCtx(0, small.length, 9999)], [small, xdpCtx(0, small.length, 0, 1)], [small, xdpCtx(0, small.length + 1)], [small, xdpCtx(20, 16)]);
  const withMeta = xdpCtx(0, small.length);
  new DataView(withMeta.buffer).setUint32(XdpMd.data_meta, 4, true);
  const withEgress = xdpCtx(0, small.length);
  new DataView(withEgress.buffer).setUint32(XdpMd.egress_ifindex, 1, true);
  cases.push([small, withMeta], [small, withEgress], [small, new Uint8Array([...xdpCtx(0, small.length), 0, 0, 0, 0])], [small, new Uint8Array([...xdpCtx(0, small.length), 1])]);
  for (const len of [13, 14, 3520]) cases.push([new Uint8Array(len), xdpCtx(0, len)]);
  for (const [data, ctx] of cases) {
    const k = summary(kernelRunLoaded(prog, xdpOps, data, ctx));
    const m = summary(vmRun(xdpOps, insns, data, ctx));
    compared++;
    if (k !== m) diffs.push(`data ${data.length} ctx ${Buffer.from(ctx).toString('hex')}:\n  kernel ${k.slice(0, 60)}\n  bpfkit ${m.slice(0, 60)}`);
  }
  // Non-linear frames (data_end short of the packet, or longer than a page allows): both run
  // them with fragments, and data_out is the linear part followed by the fragments.
  const jumbo = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
  for (const [data, ctx] of [
    [small, xdpCtx(0, small.length - 1)],
    [small, xdpCtx(0, 14)],
    [jumbo(3521), xdpCtx(0, 3521)],
    [jumbo(9000), xdpCtx(0, 9000)],
    [jumbo(9000), xdpCtx(8, 9000)],
    [jumbo(3520 + 17 * 4096), xdpCtx(0, 3520 + 17 * 4096)],
    [jumbo(3521 + 17 * 4096), xdpCtx(0, 3521 + 17 * 4096)],
  ] as const) {
    const k = summary(kernelRunLoaded(prog, xdpOps, data, ctx));
    const m = summary(vmRun(xdpOps, insns, data, ctx));
    compared++;
    if (k !== m) diffs.push(`fragments, data ${data.length} ctx ${Buffer.from(ctx).toString('hex')}:\n  kernel ${k.slice(0, 60)}\n  bpfkit ${m.slice(0, 60)}`);
  }
  process.stdout.write(`# xdp ctx_in validation: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});
