// The opcode table against the kernel: every entry, placed in a minimal program, passes
// BPF_PROG_LOAD's encoding checks; every encoding bpfkit's decoder rejects, the kernel rejects too.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseBtf } from '../../src/btf/index.js';
import { OPCODES, encode, type Instruction, type OpcodeEntry, PseudoLd, alu64, exit, st, stx } from '../../src/isa/index.js';
import { BpfProgType, BpfMapType } from '../../src/isa/uapi.generated.js';
import { createMap, loadProgram, VerifierError, type Sys } from '../../src/kernel/index.js';
import { kernelTest } from '../kernel/harness.js';

/** Kernel log messages that mean "this encoding is invalid" (kernel/bpf/verifier.c, core.c). */
const ENCODING_REJECTION = /unknown opcode|uses reserved fields|invalid BPF_LD_IMM insn|invalid bpf_ld_imm64|unrecognized bpf_ld_imm64|invalid atomic operand size|BPF_ATOMIC uses invalid atomic opcode|invalid BPF_ALU opcode|invalid BPF_JMP\/JMP32 opcode|invalid func unknown#|jump out of range|BPF_LDX uses reserved fields|BPF_ST uses reserved fields|BPF_STX uses reserved fields|invalid insn code|R1[1-5] is invalid|invalid mode|invalid size/;

interface Env {
  mapFd: number;
  kfuncId: number;
  kfuncUnlockId: number;
  ksymId: number;
}

/** A minimal program exercising one table entry, and the program type to load it as. */
function programFor(e: OpcodeEntry, env: Env): { type: number; insns: Instruction[] } {
  const xdp = BpfProgType.XDP;
  const raw = (f: Partial<Instruction>): Instruction => ({ code: e.code, dst: 0, src: 0, off: 0, imm: 0, ...f, ...(e.src !== undefined ? { src: e.src } : {}), ...(e.off !== undefined ? { off: e.off } : {}), ...(e.imm !== undefined && e.fields.imm === 'fixed' ? { imm: e.imm } : {}) });
  const init = [alu64.mov.imm(0, 0), alu64.mov.imm(1, 5), alu64.mov.imm(2, 3), st.dw(10, -8, 0)];
  switch (e.kind) {
    case 'alu':
      return { type: xdp, insns: [...init, raw({ dst: 1, src: e.fields.src === 'reg' ? 2 : 0, imm: e.fields.imm === 'value' ? 3 : 0 }), exit()] };
    case 'neg':
    case 'end':
    case 'bswap':
      return { type: xdp, insns: [...init, raw({ dst: 1 }), exit()] };
    case 'movsx':
      return { type: xdp, insns: [...init, raw({ dst: 1, src: 2 }), exit()] };
    case 'addr_space_cast':
      return { type: xdp, insns: [...init, raw({ dst: 1, src: 2, imm: 1 }), exit()] };
    case 'jmp':
      return { type: xdp, insns: [...init, raw({ dst: 1, src: e.fields.src === 'reg' ? 2 : 0, imm: e.fields.imm === 'value' ? 3 : 0, off: 1 }), alu64.mov.imm(0, 1), exit()] };
    case 'ja':
    case 'may_goto':
      return { type: xdp, insns: [...init, raw({ off: 0 }), exit()] };
    case 'gotol':
      return { type: xdp, insns: [...init, raw({ imm: 0 }), exit()] };
    case 'call':
      if (e.op === 'helper') return { type: xdp, insns: [...init, raw({ imm: 5 /* ktime_get_ns */ }), alu64.mov.imm(0, 0), exit()] };
      if (e.op === 'func') return { type: xdp, insns: [...init, raw({ imm: 1 }), exit(), alu64.mov.imm(0, 0), exit()] };
      return { type: xdp, insns: [...init, raw({ imm: env.kfuncId }), raw({ imm: env.kfuncUnlockId }), alu64.mov.imm(0, 0), exit()] };
    case 'exit':
      return { type: xdp, insns: [...init, raw({})] };
    case 'lddw': {
      const imm = e.src === PseudoLd.MAP_FD || e.src === PseudoLd.MAP_VALUE ? env.mapFd : e.src === PseudoLd.BTF_ID ? env.ksymId : e.src === PseudoLd.FUNC ? 2 : e.src === PseudoLd.IMM64 ? 7 : 0;
      return { type: xdp, insns: [...init, { ...raw({ dst: 1, imm }), imm2: 0 }, exit(), alu64.mov.imm(0, 0), exit()].slice(0, e.src === PseudoLd.FUNC ? undefined : -2) };
    }
    case 'ldabs':
      return { type: BpfProgType.SOCKET_FILTER, insns: [alu64.mov.reg(6, 1), raw({ imm: 0 }), alu64.mov.imm(0, 0), exit()] };
    case 'ldind':
      return { type: BpfProgType.SOCKET_FILTER, insns: [alu64.mov.reg(6, 1), alu64.mov.imm(2, 0), raw({ src: 2, imm: 0 }), alu64.mov.imm(0, 0), exit()] };
    case 'ldx':
    case 'ldxsx':
      return { type: xdp, insns: [...init, raw({ dst: 3, src: 10, off: -8 }), exit()] };
    case 'st':
      return { type: xdp, insns: [...init, raw({ dst: 10, off: -8, imm: 5 }), exit()] };
    case 'stx':
      return { type: xdp, insns: [...init, raw({ dst: 10, src: 1, off: -8 }), exit()] };
    case 'atomic':
      if (e.op === 'load_acq') return { type: xdp, insns: [...init, raw({ dst: 3, src: 10, off: -8 }), exit()] };
      return { type: xdp, insns: [...init, stx.dw(10, -8, 2), raw({ dst: 10, src: 1, off: -8 }), exit()] };
  }
}

function tryLoad(sys: Sys, type: number, insns: Instruction[]): { ok: true } | { ok: false; log: string } {
  try {
    using _prog = loadProgram(sys, { type, insns: encode(insns), license: 'GPL', logLevel: 1 });
    return { ok: true };
  } catch (err) {
    if (err instanceof VerifierError) return { ok: false, log: err.log };
    throw err;
  }
}

function lookupEnv(): Omit<Env, 'mapFd'> {
  const vmlinux = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  const kfunc = vmlinux.typesByName('bpf_rcu_read_lock').find((t) => t.kind === 'func');
  const unlock = vmlinux.typesByName('bpf_rcu_read_unlock').find((t) => t.kind === 'func');
  // A per-CPU kernel variable that is in both BTF and kallsyms.
  const ksym = vmlinux.typesByName('runqueues').find((t) => t.kind === 'var');
  assert.ok(kfunc && unlock && ksym, 'vmlinux BTF has bpf_rcu_read_lock/unlock and runqueues');
  return { kfuncId: kfunc.id, kfuncUnlockId: unlock.id, ksymId: ksym.id };
}

kernelTest('the kernel accepts the encoding of every opcode-table entry', (sys) => {
  using map = createMap(sys, { type: BpfMapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 });
  const env: Env = { mapFd: map.raw, ...lookupEnv() };
  const verdicts: string[] = [];
  const refused: string[] = [];
  let accepted = 0;
  for (const e of OPCODES) {
    const { type, insns } = programFor(e, env);
    const r = tryLoad(sys, type, insns);
    if (r.ok) accepted++;
    else if (ENCODING_REJECTION.test(r.log)) verdicts.push(`${e.name}: kernel calls it invalid: ${r.log.trim().split('\n').slice(-2).join(' | ')}`);
    else refused.push(`${e.name}: ${r.log.trim().split('\n').filter((l) => !/^processed|^\d+: |^;/.test(l)).slice(-1)[0]}`);
  }
  if (process.env['BPFKIT_VERBOSE']) console.log(refused.join('\n'));
  console.log(`# ${accepted} of ${OPCODES.length} entries loaded outright; the rest were refused for program-level reasons, not their encoding`);
  assert.deepEqual(verdicts, []);
  // These need context a one-instruction program cannot have (an arena map, BTF func info for a
  // callback, an fd_array), or a kernel built with CONFIG_KALLSYMS_ALL so a typed ksym variable
  // has an address; the kernel says so, not that the encoding is invalid.
  assert.deepEqual(refused.map((r) => r.split(':')[0]).sort(), ['alu64.addr_space_cast', 'ld.btf_id', 'ld.func', 'ld.map_idx', 'ld.map_idx_value'], refused.join('\n'));
  assert.equal(accepted, OPCODES.length - 5);
});

/** Encodings bpfkit refuses to decode; the kernel must refuse each as an invalid encoding. */
const INVALID: [string, Instruction][] = [
  ['exit with imm', { code: 0x95, dst: 0, src: 0, off: 0, imm: 1 }],
  ['mov imm with src', { code: 0xb7, dst: 0, src: 1, off: 0, imm: 2 }],
  ['add reg with imm', { code: 0x0f, dst: 0, src: 1, off: 0, imm: 1 }],
  ['div with off 2', { code: 0x37, dst: 0, src: 0, off: 2, imm: 1 }],
  ['movsx64 off 7', { code: 0xbf, dst: 0, src: 1, off: 7, imm: 0 }],
  ['neg with imm', { code: 0x87, dst: 0, src: 0, off: 0, imm: 1 }],
  ['endian width 8', { code: 0xdc, dst: 0, src: 0, off: 0, imm: 8 }],
  ['atomic op 0x02', { code: 0xdb, dst: 10, src: 1, off: -8, imm: 0x02 }],
  ['atomic add on u8', { code: 0xd3, dst: 10, src: 1, off: -8, imm: 0 }],
  ['call pseudo 3', { code: 0x85, dst: 0, src: 3, off: 0, imm: 5 }],
  ['ja with imm', { code: 0x05, dst: 0, src: 0, off: 0, imm: 1 }],
  ['ldx with imm', { code: 0x79, dst: 3, src: 10, off: -8, imm: 1 }],
  ['st with src', { code: 0x7a, dst: 10, src: 1, off: -8, imm: 0 }],
  ['opcode 0x00', { code: 0x00, dst: 0, src: 0, off: 0, imm: 0 }],
  ['opcode 0xff', { code: 0xff, dst: 0, src: 0, off: 0, imm: 0 }],
  ['LD_ABS DW', { code: 0x38, dst: 0, src: 0, off: 0, imm: 0 }],
];

kernelTest('the kernel rejects every encoding bpfkit rejects, as an invalid encoding', (sys) => {
  const wrong: string[] = [];
  for (const [name, bad] of INVALID) {
    // Raw bytes: encode() itself refuses invalid instructions, so write the slot by hand.
    const prefix = encode([alu64.mov.imm(0, 0), alu64.mov.imm(1, 5), st.dw(10, -8, 0)]);
    const slot = new Uint8Array(8);
    const v = new DataView(slot.buffer);
    slot[0] = bad.code;
    slot[1] = (bad.src << 4) | bad.dst;
    v.setInt16(2, bad.off, true);
    v.setInt32(4, bad.imm, true);
    // The bad instruction is followed by exit, unless it is the exit (code after it would be unreachable).
    const suffix = bad.code === 0x95 ? new Uint8Array(0) : encode([exit()]);
    const bytes = new Uint8Array([...prefix, ...slot, ...suffix]);
    try {
      using _p = loadProgram(sys, { type: BpfProgType.XDP, insns: bytes, license: 'GPL', logLevel: 1 });
      wrong.push(`${name}: the kernel accepted it`);
    } catch (err) {
      if (!(err instanceof VerifierError)) throw err;
      if (!ENCODING_REJECTION.test(err.log)) wrong.push(`${name}: rejected, but not as an encoding error: ${err.log.trim().split('\n').slice(-1)[0]}`);
    }
  }
  assert.deepEqual(wrong, []);
});
