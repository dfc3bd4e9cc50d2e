// bpf_skb_get/set_tunnel_key and _opt against the kernel: sizes, flags, reserved fields, the
// buffers after each call and the return values, for tc programs run by BPF_PROG_TEST_RUN.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, call, encode, exit, type Instruction, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r6, r7, r8, r10, stx } from '../../src/isa/index.js';
import { createHelperEnv, currentTunnel } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcOps } from '../../src/ctx/tc.js';
import { ModelError } from '../../src/ctx/model-error.js';
import { tunnelInfoFromModel } from '../../src/ctx/tunnel-model.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { kernelTest } from '../kernel/harness.js';
import { rng } from '../vm/oracle.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

/** Packet layout: control input at 16.., results and buffers copied out at OUT... */
const KEY_IN = 16;
const SET_FLAGS = 60;
const GET_FLAGS = 68;
const OPT_IN = 76;
const OUT = 256;
const PACKET = 512;

interface Shape {
  /** bpf_skb_set_tunnel_key size (0: not called). */
  readonly setSize: number;
  /** bpf_skb_set_tunnel_opt size (0: not called). */
  readonly optSet: number;
  /** bpf_skb_get_tunnel_key size. */
  readonly getSize: number;
  /** bpf_skb_get_tunnel_opt size (0: not called). */
  readonly optGet: number;
}

/**
 * set_tunnel_key(key from the packet, flags from the packet), set_tunnel_opt, get_tunnel_key
 * (flags from the packet), get_tunnel_opt; then the four results (0x7777 when not called) and
 * both output buffers (pre-filled with 0xaa) are copied over the packet at OUT.
 * Stack: fp-512 opt in (256), fp-256 opt out (64), fp-192 key out (48), fp-144 results (32), fp-48 key in (48).
 */
function tunnelProgram(s: Shape): Instruction[] {
  const body: (Instruction | ReturnType<typeof label>)[] = [alu64.mov.reg(r6, r1), ldx.w(r2, r6, SkBuff.data), ldx.w(r3, r6, SkBuff.data_end), alu64.mov.reg(r4, r2), alu64.add.imm(r4, PACKET), alu64.mov.imm(r0, 2), jmp.jgt.reg(r4, r3, 'out')];
  for (let i = 0; i < 48; i += 8) body.push(ldx.dw(r4, r2, KEY_IN + i), stx.dw(r10, -48 + i, r4));
  for (let i = 0; i < 256; i += 8) {
    if (i < 64) body.push(ldx.dw(r4, r2, OPT_IN + i));
    else if (i === 64) body.push(alu64.mov.imm(r4, 0));
    body.push(stx.dw(r10, -512 + i, r4));
  }
  body.push(ldx.dw(r7, r2, SET_FLAGS), ldx.dw(r8, r2, GET_FLAGS), ld.imm64(r4, 0xaaaaaaaaaaaaaaaan));
  for (let i = -256; i < -144; i += 8) body.push(stx.dw(r10, i, r4));
  body.push(alu64.mov.imm(r4, 0x7777));
  for (let i = -144; i < -112; i += 8) body.push(stx.dw(r10, i, r4));
  const helper = (name: 'skb_set_tunnel_key' | 'skb_set_tunnel_opt' | 'skb_get_tunnel_key' | 'skb_get_tunnel_opt', buf: number, size: number, flags: typeof r7 | undefined, slot: number) => {
    body.push(alu64.mov.reg(r1, r6), alu64.mov.reg(r2, r10), alu64.add.imm(r2, buf), alu64.mov.imm(r3, size));
    if (flags) body.push(alu64.mov.reg(r4, flags));
    body.push(call.helper(name), stx.dw(r10, slot, r0));
  };
  if (s.setSize) helper('skb_set_tunnel_key', -48, s.setSize, r7, -144);
  if (s.optSet) helper('skb_set_tunnel_opt', -512, s.optSet, undefined, -136);
  helper('skb_get_tunnel_key', -192, s.getSize, r8, -128);
  if (s.optGet) helper('skb_get_tunnel_opt', -256, s.optGet, undefined, -120);
  body.push(ldx.w(r2, r6, SkBuff.data), ldx.w(r3, r6, SkBuff.data_end), alu64.mov.reg(r4, r2), alu64.add.imm(r4, PACKET), alu64.mov.imm(r0, 2), jmp.jgt.reg(r4, r3, 'out'));
  for (let i = 0; i < 144; i += 8) body.push(ldx.dw(r4, r10, -256 + i), stx.dw(r2, OUT + i, r4));
  body.push(alu64.mov.imm(r0, 0), label('out'), exit());
  return program(...body);
}

/** A packet: an Ethernet frame of an experimental EtherType with the key, flags and options at their offsets. */
function packet(key: Uint8Array, setFlags: bigint, getFlags: bigint, opt: Uint8Array): Uint8Array {
  const p = frame([0, 0, 0, 0, 0, 0], 0x88b5, PACKET - 14);
  p.set(key, KEY_IN);
  const v = new DataView(p.buffer);
  v.setBigUint64(SET_FLAGS, setFlags, true);
  v.setBigUint64(GET_FLAGS, getFlags, true);
  p.set(opt, OPT_IN);
  return p;
}

const SET_FLAG_CHOICES = [0n, 1n, 2n, 4n, 8n, 0x10n, 0x1fn, 0x20n, 1n << 32n, 0x0dn];
const GET_FLAG_CHOICES = [0n, 1n, 0x10n, 0x11n, 2n, 0x100n];

kernelTest('bpf_skb_get/set_tunnel_key and _opt: return values and buffers equal the kernel', (sys) => {
  const shapes: Shape[] = [];
  for (const setSize of [0, 44, 28, 24, 22, 8, 12, 40]) for (const getSize of [44, 28, 24, 22, 8, 12, 4]) shapes.push({ setSize, optSet: 0, getSize, optGet: getSize === 44 ? 64 : 0 });
  for (const optSet of [4, 8, 6, 64, 252, 256]) for (const optGet of [64, 8]) shapes.push({ setSize: 44, optSet, getSize: 44, optGet });
  shapes.push({ setSize: 0, optSet: 8, getSize: 44, optGet: 64 }, { setSize: 44, optSet: 8, getSize: 44, optGet: 0 });
  const rand = rng(18);
  const diffs: string[] = [];
  let compared = 0;
  for (const shape of shapes) {
    const insns = tunnelProgram(shape);
    using prog = loadProgram(sys, { type: tcOps.type, insns: encode(insns), license: 'GPL', name: 'bk_tunnel' });
    for (let i = 0; i < 16; i++) {
      const key = Uint8Array.from({ length: 48 }, () => rand() & 0xff);
      const kv = new DataView(key.buffer);
      // Most keys are valid (label 0 unless IPv6, ext 0); some keep a label or ext to be refused.
      const kind = i % 8;
      if (kind !== 6) kv.setUint16(22, 0, true);
      const setFlags = SET_FLAG_CHOICES[i < 4 ? i % 2 : rand() % SET_FLAG_CHOICES.length]!;
      if (kind !== 7 && !(setFlags & 1n)) kv.setUint32(24, 0, true);
      // The first runs ask for the family that was set (with and without BPF_F_TUNINFO_FLAGS).
      const getFlags = i < 4 ? (setFlags & 1n) | (i >= 2 ? 0x10n : 0n) : GET_FLAG_CHOICES[rand() % GET_FLAG_CHOICES.length]!;
      const opt = Uint8Array.from({ length: 64 }, () => rand() & 0xff);
      const data = packet(key, setFlags, getFlags, opt);
      const k = summary(kernelRunLoaded(prog, tcOps, data));
      const m = summary(vmRun(tcOps, insns, data, undefined, { env: createHelperEnv() }));
      compared++;
      if (k !== m) diffs.push(`${JSON.stringify(shape)} set ${setFlags} get ${getFlags} kind ${kind}:\n  kernel ${k.slice(0, 1200)}\n  bpfkit ${m.slice(0, 1200)}`);
    }
  }
  process.stdout.write(`# tunnel helpers: ${compared} runs of ${shapes.length} programs compared with the kernel, ${diffs.length} mismatches\n`);
  assert.deepEqual(diffs.slice(0, 5), []);
});

test('a tunnel model is what get_tunnel_key/opt report for every run; set_tunnel_key lasts one run', () => {
  const remote = Uint8Array.of(192, 0, 2, 1);
  const local = Uint8Array.of(198, 51, 100, 7);
  const options = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  const env = createHelperEnv({ tunnel: tunnelInfoFromModel({ id: 0x1234_5678_9an, remote, local, tos: 3, ttl: 9, options }) });
  const insns = tunnelProgram({ setSize: 0, optSet: 0, getSize: 44, optGet: 64 });
  const data = packet(new Uint8Array(48), 0n, 0x10n, new Uint8Array(64));
  const out = (r: ReturnType<typeof vmRun>) => {
    assert.ok(!('error' in r));
    return r.dataOut.subarray(OUT, OUT + 144);
  };
  for (let run = 0; run < 2; run++) {
    const o = out(vmRun(tcOps, insns, data, undefined, { env }));
    const v = new DataView(o.buffer, o.byteOffset);
    assert.equal(v.getBigInt64(128, true), 0n, 'get_tunnel_key returns 0');
    assert.equal(v.getBigInt64(136, true), 8n, 'get_tunnel_opt returns options_len');
    assert.equal(v.getUint32(64, true), 0x3456789a, 'tunnel_id: the low 32 bits');
    assert.equal(v.getUint32(64 + 4, true), 0xc0000201, 'remote_ipv4 in host order');
    assert.equal(v.getUint32(64 + 28, true), 0xc6336407, 'local_ipv4 in host order');
    assert.deepEqual([o[64 + 20], o[64 + 21]], [3, 9]);
    assert.deepEqual([o[64 + 22], o[64 + 23]], [0x08, 0x04], 'tunnel_flags: TUNNEL_KEY | TUNNEL_GENEVE_OPT, big-endian');
    assert.deepEqual([...o.subarray(0, 8)], [...options]);
    assert.ok(o.subarray(8, 64).every((b) => b === 0), 'the rest of the options buffer zeroed');
  }
  // A run that sets a key sees its own; the next run sees the model again.
  const setInsns = tunnelProgram({ setSize: 44, optSet: 0, getSize: 44, optGet: 0 });
  const key = new Uint8Array(48);
  new DataView(key.buffer).setUint32(0, 77, true);
  vmRun(tcOps, setInsns, packet(key, 0n, 0n, new Uint8Array(64)), undefined, { env });
  assert.equal(currentTunnel(env)?.id, 77n);
  assert.equal(currentTunnel(env)?.tx, true);
  vmRun(tcOps, insns, data, undefined, { env });
  assert.equal(currentTunnel(env)?.id, 0x1234_5678_9an);
});

test('an impossible tunnel model is a ModelError naming the field', () => {
  const a4 = new Uint8Array(4);
  for (const [model, field] of [
    [{ id: 1, remote: new Uint8Array(5), local: a4 }, 'remote'],
    [{ id: 1, remote: a4, local: new Uint8Array(16) }, 'local'],
    [{ id: -1, remote: a4, local: a4 }, 'id'],
    [{ id: 1, remote: a4, local: a4, ttl: 256 }, 'ttl'],
    [{ id: 1, remote: a4, local: a4, label: 5 }, 'label'],
    [{ id: 1, remote: a4, local: a4, options: new Uint8Array(6) }, 'options'],
    [{ id: 1, remote: a4, local: a4, options: new Uint8Array(4), flags: 4 }, 'flags'],
  ] as const) {
    assert.throws(() => tunnelInfoFromModel(model), (e: unknown) => e instanceof ModelError && e.field === field && e.code === 'ERR_KERNEL_MODEL', field);
  }
});
