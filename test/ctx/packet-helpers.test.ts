// Packet helpers vs BPF_PROG_TEST_RUN: xdp_adjust_head/tail/meta at and past every bound, csum_diff
// and l3/l4_csum_replace on random data, skb_load/store_bytes at the edges, VLAN push/pop.
import assert from 'node:assert/strict';
import { alu64, call, exit, type Instruction, jmp, label, type Label, ld, ldx, program, r0, r1, r2, r3, r4, r5, r6, r7, r10, st } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import type { RunnableProgramType } from '../../src/ctx/program-type-ops.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { socketFilterOps } from '../../src/ctx/socket-filter.js';
import { tcOps } from '../../src/ctx/tc.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { probeHelper } from '../../src/kernel/feature-probe.js';
import type { Sys } from '../../src/kernel/sys.js';
import { helperByName } from '../../src/isa/helpers.js';
import { BpfProgType } from '../../src/isa/uapi.generated.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRun, summary, vmRun } from './oracle.js';
import { rng } from '../vm/oracle.js';

/**
 * Whether this kernel lets XDP programs call bpf_xdp_adjust_meta: builds of 6.18 differ (one
 * refuses it: "program of this type cannot use helper bpf_xdp_adjust_meta#54"). Where it is
 * refused there is nothing to compare, and the tests say so.
 */
function xdpMetaAllowed(sys: Sys): boolean {
  const allowed = probeHelper(sys, BpfProgType.XDP, helperByName('xdp_adjust_meta')!.id);
  if (!allowed) process.stdout.write('# skipping bpf_xdp_adjust_meta cases: this kernel does not let XDP programs call it\n');
  return allowed;
}

/** Runs one case both ways; returns a description of the difference or undefined. */
function differ(sys: Sys, ops: RunnableProgramType, insns: readonly Instruction[], data: Uint8Array, ctx?: Uint8Array): string | undefined {
  const k = summary(kernelRun(sys, ops, insns, data, ctx));
  const m = summary(vmRun(ops, insns, data, ctx, { env: createHelperEnv() }));
  return k === m ? undefined : `\n  kernel ${k.slice(0, 300)}\n  bpfkit ${m.slice(0, 300)}`;
}

class Tally {
  compared = 0;
  readonly diffs: string[] = [];
  check(name: string, d: string | undefined): void {
    this.compared++;
    if (d !== undefined) this.diffs.push(`${name}:${d}`);
  }
  done(what: string): void {
    process.stdout.write(`# ${what}: ${this.compared} cases compared with the kernel\n`);
    assert.equal(this.diffs.length, 0, `${this.diffs.length} disagreements:\n${this.diffs.slice(0, 8).join('\n')}`);
  }
}

function xdpCtx(meta: number, len: number): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(0, meta, true);
  v.setUint32(4, len, true);
  return b;
}

/** r7 = adjust(ctx, off); then mark data[0] = 0xaa and data_meta[0] = 0xbb if in bounds; return r7. */
function adjust(helper: 'xdp_adjust_head' | 'xdp_adjust_tail' | 'xdp_adjust_meta', off: number): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1),
    alu64.mov.imm(r2, off),
    call.helper(helper),
    alu64.mov.reg(r7, r0),
    ldx.w(r2, r6, 0),
    ldx.w(r3, r6, 4),
    alu64.mov.reg(r4, r2),
    alu64.add.imm(r4, 1),
    jmp.jgt.reg(r4, r3, 'meta'),
    st.b(r2, 0, 0xaa),
    label('meta'),
    ldx.w(r4, r6, 8),
    alu64.mov.reg(r5, r4),
    alu64.add.imm(r5, 1),
    jmp.jgt.reg(r5, r2, 'out'),
    st.b(r4, 0, 0xbb),
    label('out'),
    alu64.mov.reg(r0, r7),
    exit(),
  );
}

kernelTest('xdp_adjust_head/tail/meta at and past every bound', (sys) => {
  const t = new Tally();
  const metaAllowed = xdpMetaAllowed(sys);
  const packets = [new Uint8Array(60).map((_, i) => i + 1), new Uint8Array(14).map((_, i) => i + 1)];
  const offsets = (lo: number, hi: number, edges: number[]): number[] => {
    const s = new Set<number>();
    for (let o = lo; o <= hi; o += 7) s.add(o);
    for (const e of edges) for (let d = -2; d <= 2; d++) s.add(e + d);
    return [...s].sort((a, b) => a - b);
  };
  for (const p of packets) {
    for (const ctx of [undefined, xdpCtx(8, p.length)]) {
      const meta = ctx ? 8 : 0;
      for (const off of offsets(-260, 80, [-216 + meta, -216, -256, 0, p.length - meta - 14, -meta])) t.check(`head ${off} len ${p.length} meta ${meta}`, differ(sys, xdpOps, adjust('xdp_adjust_head', off), p, ctx));
      for (const off of offsets(-80, 4000, [0, -(p.length - meta - 14), 3776 - 256 - p.length + meta, 3776 - 256 - p.length + meta + 1])) t.check(`tail ${off} len ${p.length} meta ${meta}`, differ(sys, xdpOps, adjust('xdp_adjust_tail', off), p, ctx));
      if (metaAllowed) for (const off of offsets(-260, 40, [-216 + meta, -32, -4, 0, meta, -252, -256])) t.check(`meta ${off} len ${p.length} meta ${meta}`, differ(sys, xdpOps, adjust('xdp_adjust_meta', off), p, ctx));
    }
  }
  t.done('xdp adjust head/tail/meta');
});

/** csum_diff(data + a, fromSize, data + b, toSize, seed) over the packet (XDP). */
function csumDiff(a: number, fromSize: number, b: number, toSize: number, seed: number): Instruction[] {
  return program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r2, r6),
    alu64.add.imm(r2, 600),
    alu64.mov.imm(r0, 0xdead),
    jmp.jgt.reg(r2, r7, 'out'),
    alu64.mov.reg(r1, r6),
    alu64.add.imm(r1, a),
    alu64.mov.imm(r2, fromSize),
    alu64.mov.reg(r3, r6),
    alu64.add.imm(r3, b),
    alu64.mov.imm(r4, toSize),
    alu64.mov.imm(r5, seed),
    ...(fromSize === 0 ? [alu64.mov.imm(r1, 0)] : []),
    ...(toSize === 0 ? [alu64.mov.imm(r3, 0)] : []),
    call.helper('csum_diff'),
    label('out'),
    exit(),
  );
}

kernelTest('csum_diff on random data, every size class and seed', (sys) => {
  const t = new Tally();
  const rand = rng(7);
  const sizes = [0, 4, 8, 12, 20, 40, 64, 256, 2, 6];
  for (let i = 0; i < 160; i++) {
    const data = new Uint8Array(640).map(() => rand() & 0xff);
    if (i % 16 === 0) data.fill(0xff);
    const fromSize = sizes[rand() % sizes.length]!;
    const toSize = sizes[rand() % sizes.length]!;
    const seed = i % 3 === 0 ? 0 : rand() | 0;
    t.check(`csum_diff from ${fromSize} to ${toSize} seed ${seed}`, differ(sys, xdpOps, csumDiff(rand() % 300, fromSize, rand() % 300, toSize, seed), data));
  }
  t.check('csum_diff 256 + 260', differ(sys, xdpOps, csumDiff(0, 256, 0, 260, 0), new Uint8Array(640).map((_, i) => i)));
  t.check('csum_diff 1 + 3', differ(sys, xdpOps, csumDiff(1, 1, 6, 3, 99), new Uint8Array(640).map((_, i) => i * 3)));
  t.check('csum_diff 256 + 256', differ(sys, xdpOps, csumDiff(0, 256, 4, 256, 0), new Uint8Array(640).fill(0x5a)));
  t.done('csum_diff');
});

/** l3/l4_csum_replace(skb, offset, from, to, flags) in tc; returns the helper's result. */
function csumReplace(helper: 'l3_csum_replace' | 'l4_csum_replace', offset: number, from: bigint, to: bigint, flags: number): Instruction[] {
  return program(ld.imm64(r3, from), ld.imm64(r4, to), alu64.mov.imm(r2, offset), alu64.mov.imm(r5, flags), call.helper(helper), exit());
}

kernelTest('l3/l4_csum_replace on random data: sizes 0/2/4, pseudo header, mangled 0, bad offsets and flags', (sys) => {
  const t = new Tally();
  const rand = rng(11);
  const big = (): bigint => (BigInt(rand()) << 32n) | BigInt(rand());
  for (let i = 0; i < 220; i++) {
    const data = frame([0, 0, 0, 0, 0, 0], 0x0806, 50).map((x, j) => (j < 14 ? x : rand() & 0xff));
    if (i % 10 === 0) data.fill(0, 20, 22); // a zero checksum field (mangled-0 cases)
    const helper = i % 2 ? 'l3_csum_replace' : 'l4_csum_replace';
    const size = [0, 2, 4, 4, 2, 3, 8][rand() % 7]!;
    const extra = helper === 'l4_csum_replace' ? [0, 0x10, 0x20, 0x30, 0x60, 0x80, 0x100][rand() % 7]! : [0, 0, 0, 0x10][rand() % 4]!;
    const offset = [20, 20, 14, 62, 63, 64, 21][rand() % 7]!;
    const from = size === 0 && rand() % 4 !== 0 ? 0n : big();
    t.check(`${helper} off ${offset} size ${size} flags 0x${extra.toString(16)}`, differ(sys, tcOps, csumReplace(helper, offset, from, big(), size | extra), data));
  }
  t.done('l3/l4_csum_replace');
});

/** skb_load_bytes(skb, off, stack, len) then return r0 ^ first loaded word (tc stores the bytes to the packet's start). */
function loadBytes(off: number, len: number, storeBack: boolean): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1),
    ...Array.from({ length: 8 }, (_, i) => st.dw(r10, -64 + 8 * i, 0x77)),
    alu64.mov.imm(r2, off),
    alu64.mov.reg(r3, r10),
    alu64.add.imm(r3, -64),
    alu64.mov.imm(r4, len),
    call.helper('skb_load_bytes'),
    alu64.mov.reg(r7, r0),
    ...(storeBack
      ? [alu64.mov.reg(r1, r6), alu64.mov.imm(r2, 0), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -64), alu64.mov.imm(r4, 64), alu64.mov.imm(r5, 0), call.helper('skb_store_bytes')]
      : []),
    ldx.w(r0, r10, -64),
    alu64.xor.reg(r0, r7),
    exit(),
  );
}

/** skb_store_bytes(skb, off, stack pattern, len, flags); returns the result ^ hash << 8. */
function storeBytes(off: number, len: number, flags: number): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1),
    ...Array.from({ length: 8 }, (_, i) => st.dw(r10, -64 + 8 * i, 0x01020304 + i * 0x11111)),
    alu64.mov.imm(r2, off),
    alu64.mov.reg(r3, r10),
    alu64.add.imm(r3, -64),
    alu64.mov.imm(r4, len),
    alu64.mov.imm(r5, flags),
    call.helper('skb_store_bytes'),
    exit(),
  );
}

kernelTest('skb_load_bytes / skb_store_bytes at the edges (tc and socket filter)', (sys) => {
  const t = new Tally();
  const data = frame([0, 0, 0, 0, 0, 0], 0x0800, 66).map((x, i) => (i < 14 ? x : (i * 13) & 0xff));
  const len = data.length;
  for (const ops of [tcOps, socketFilterOps]) {
    const skbLen = ops === tcOps ? len : len - 14;
    for (const off of [0, 1, skbLen - 64, skbLen - 63, skbLen - 8, skbLen - 1, skbLen, 0x7fffffff, -1]) {
      for (const n of [1, 8, 64]) {
        if (n === 64 || off + n <= skbLen + 1 || off < 0) t.check(`${ops.name} load ${off}/${n}`, differ(sys, ops, loadBytes(off, n, ops === tcOps), data));
      }
    }
  }
  for (const off of [0, 14, len - 64, len - 63, len - 1, len, 0xffff, 0x10000]) {
    for (const n of [1, 4, 64]) for (const flags of [0, 1, 2, 3, 4]) t.check(`tc store ${off}/${n} flags ${flags}`, differ(sys, tcOps, storeBytes(off, n, flags), data));
  }
  t.done('skb_load_bytes/skb_store_bytes');
});

/** A sequence of vlan push/pop; returns the sum of results, plus one skb field in the high bits via `field`. */
function vlanOps(steps: readonly ([number, number] | 'pop')[], field: number): Instruction[] {
  const body: Instruction[] = [alu64.mov.reg(r6, r1), alu64.mov.imm(r7, 0)];
  for (const s of steps) {
    body.push(alu64.mov.reg(r1, r6));
    if (s === 'pop') body.push(call.helper('skb_vlan_pop'));
    else body.push(alu64.mov.imm(r2, s[0]), alu64.mov.imm(r3, s[1]), call.helper('skb_vlan_push'));
    body.push(alu64.lsh.imm(r7, 4), alu64.add.reg(r7, r0));
  }
  body.push(ldx.w(r0, r6, field), alu64.lsh.imm(r0, 16), alu64.xor.reg(r0, r7), exit());
  return program(...body);
}

kernelTest('skb_vlan_push / skb_vlan_pop sequences: packet, protocol, vlan fields and len', (sys) => {
  const t = new Tally();
  const plain = frame([0, 0, 0, 0, 0, 0], 0x0800, 46);
  const tagged = frame([0, 0, 0, 0, 0, 0], 0x8100, new Uint8Array([0x20, 0x05, 0x08, 0x00, ...new Array<number>(44).fill(3)]));
  const qinq = frame([0, 0, 0, 0, 0, 0], 0x88a8, new Uint8Array([0x00, 0x07, 0x81, 0x00, 0x30, 0x09, 0x86, 0xdd, ...new Array<number>(60).fill(4)]));
  const Q = 0x0081;
  const AD = 0xa888;
  const sequences: ([number, number] | 'pop')[][] = [
    [[Q, 5]],
    [[AD, 0xfff]],
    [[0x1234, 7]],
    [[Q, 5], [Q, 6]],
    [[Q, 5], [AD, 6], [Q, 7]],
    [[Q, 5], [Q, 6], 'pop'],
    [[Q, 5], [Q, 6], 'pop', 'pop'],
    ['pop'],
    ['pop', 'pop'],
    [[Q, 0xffff]],
    [[Q, 0]],
  ];
  for (const data of [plain, tagged, qinq]) {
    for (const seq of sequences) {
      for (const field of [SkBuff.len, SkBuff.protocol, SkBuff.vlan_present, SkBuff.vlan_tci, SkBuff.vlan_proto]) {
        t.check(`${JSON.stringify(seq)} on ${data[12]!.toString(16)}${data[13]!.toString(16)} field ${field}`, differ(sys, tcOps, vlanOps(seq, field), data));
      }
    }
  }
  t.done('skb_vlan_push/pop');
});

/** skb_change_tail / skb_change_head(skb, n, flags); returns the result ^ (len << 8). */
function change(helper: 'skb_change_tail' | 'skb_change_head', n: number, flags: number): Instruction[] {
  return program(alu64.mov.reg(r6, r1), ld.imm64(r2, BigInt(n >>> 0)), alu64.mov.imm(r3, flags), call.helper(helper), ldx.w(r2, r6, SkBuff.len), alu64.lsh.imm(r2, 8), alu64.xor.reg(r0, r2), exit());
}

kernelTest('skb_change_tail / skb_change_head at and past their bounds', (sys) => {
  const t = new Tally();
  const data = frame([0, 0, 0, 0, 0, 0], 0x0800, 46).map((x, i) => (i < 14 ? x : i));
  const len = data.length;
  for (const n of [0, 13, 14, 15, len - 1, len, len + 1, 1500, 3000, 16064, 16065, 65550, 0xffffffff]) {
    for (const flags of [0, 1]) t.check(`change_tail ${n} flags ${flags}`, differ(sys, tcOps, change('skb_change_tail', n, flags), data));
  }
  for (const n of [0, 1, 14, 64, 65, 200, 16064 - len, 16065 - len, 0xffffffff]) {
    for (const flags of [0, 1]) t.check(`change_head ${n} flags ${flags}`, differ(sys, tcOps, change('skb_change_head', n, flags), data));
  }
  t.done('skb_change_tail/head');
});

/** xdp_load_bytes(off, len) into the stack, then xdp_store_bytes(0, stack, len); returns both results and the buffer length. */
function xdpBytes(off: number, len: number): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1),
    ...Array.from({ length: 8 }, (_, i) => st.dw(r10, -64 + 8 * i, 0x33)),
    alu64.mov.imm(r2, off),
    alu64.mov.reg(r3, r10),
    alu64.add.imm(r3, -64),
    alu64.mov.imm(r4, len),
    call.helper('xdp_load_bytes'),
    alu64.mov.reg(r7, r0),
    alu64.lsh.imm(r7, 8),
    alu64.mov.reg(r1, r6),
    alu64.mov.imm(r2, 1),
    alu64.mov.reg(r3, r10),
    alu64.add.imm(r3, -64),
    alu64.mov.imm(r4, len),
    call.helper('xdp_store_bytes'),
    alu64.and.imm(r0, 0xff),
    alu64.or.reg(r7, r0),
    alu64.mov.reg(r1, r6),
    call.helper('xdp_get_buff_len'),
    alu64.lsh.imm(r0, 20),
    alu64.or.reg(r0, r7),
    exit(),
  );
}

kernelTest('xdp_load_bytes / xdp_store_bytes / xdp_get_buff_len at the edges', (sys) => {
  const t = new Tally();
  const data = new Uint8Array(70).map((_, i) => i * 3);
  for (const off of [0, 1, 6, 7, 62, 63, 64, 69, 70, 0xffffffff]) for (const len of [1, 8, 64]) t.check(`xdp bytes ${off}/${len}`, differ(sys, xdpOps, xdpBytes(off, len), data));
  t.done('xdp_load/store_bytes');
});

kernelTest('random sequences of xdp_adjust_head/tail/meta in one program, with metadata and markers', (sys) => {
  const t = new Tally();
  const rand = rng(5);
  const helpers = xdpMetaAllowed(sys) ? (['xdp_adjust_head', 'xdp_adjust_tail', 'xdp_adjust_meta'] as const) : (['xdp_adjust_head', 'xdp_adjust_tail'] as const);
  for (let i = 0; i < Number(process.env.BPFKIT_SEQ ?? 150); i++) {
    const body: (Instruction | Label)[] = [alu64.mov.reg(r6, r1), alu64.mov.imm(r7, 0)];
    const steps = 2 + (rand() % 4);
    for (let s = 0; s < steps; s++) {
      const helper = helpers[rand() % helpers.length]!;
      const off = helper === 'xdp_adjust_meta' ? -4 * (rand() % 12) + (rand() % 8 === 0 ? 2 : 0) : (rand() % 120) - 80;
      body.push(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, off), call.helper(helper), alu64.lsh.imm(r7, 2), alu64.and.imm(r0, 3), alu64.or.reg(r7, r0));
    }
    body.push(
      ldx.w(r2, r6, 0),
      ldx.w(r3, r6, 4),
      alu64.mov.reg(r4, r2),
      alu64.add.imm(r4, 1),
      jmp.jgt.reg(r4, r3, 'meta'),
      st.b(r2, 0, 0xaa),
      label('meta'),
      ldx.w(r4, r6, 8),
      alu64.mov.reg(r5, r4),
      alu64.add.imm(r5, 1),
      jmp.jgt.reg(r5, r2, 'out'),
      st.b(r4, 0, 0xbb),
      label('out'),
      alu64.mov.reg(r0, r7),
      exit(),
    );
    const len = 20 + (rand() % 100);
    const packet = new Uint8Array(len).map((_, k) => k + 1);
    const ctx = rand() % 2 ? xdpCtx(4 * (rand() % 5), len) : undefined;
    t.check(`sequence #${i}`, differ(sys, xdpOps, program(...body), packet, ctx));
  }
  t.done('xdp adjust sequences');
});
