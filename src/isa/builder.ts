// The builder DSL: write programs in TypeScript the way cilium/ebpf's asm package does.
//
//   import { alu64, jmp, ldx, call, exit, label, program, r0, r1, r2 } from 'bpfkit';
//   const insns = program(
//     ldx.w(r2, r1, 4),            // r2 = *(u32 *)(r1 + 4)   (data_end)
//     alu64.mov.imm(r0, 2),        // r0 = XDP_PASS
//     jmp.jgt.reg(r1, r2, 'out'),  // if r1 > r2 goto out
//     call.helper('ktime_get_ns'),
//     label('out'),
//     exit(),
//   );
//
// Every builder's path is the name of its opcode-table entry (`alu64.add.imm`,
// `atomic.dw.fetch_add`), and every encoding comes from that table: a builder cannot produce an
// instruction the table does not know. Operands are checked when the instruction is built.

import { InvalidOperandError } from './errors.js';
import { type Instruction, type Reg, splitImm64 } from './instruction.js';
import { type OpcodeEntry, opcode, PseudoCall, PseudoLd } from './opcodes.js';
import { BpfFuncId } from './uapi.generated.js';
import type { HelperName } from './helpers.js';


/** A label marker in a `program(...)` list: the next instruction gets this symbol. */
export interface Label {
  readonly label: string;
}

function checkReg(name: string, what: string, r: number): void {
  if (!Number.isInteger(r) || r < 0 || r > 10) throw new InvalidOperandError(name, `${what} must be a register r0..r10, got ${r}`);
}
function checkInt(name: string, what: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new InvalidOperandError(name, `${what} ${v} out of range [${min}, ${max}]`);
}
const S16: [number, number] = [-0x8000, 0x7fff];
const IMM: [number, number] = [-0x80000000, 0xffffffff];

interface Fields {
  dst?: number;
  src?: number;
  off?: number;
  imm?: number;
  imm2?: number;
  reference?: string;
}

/** Builds an instruction of a table entry, filling discriminators and checking operands. */
function make(e: OpcodeEntry, f: Fields): Instruction {
  const dst = f.dst ?? 0;
  const src = e.fields.src === 'pseudo' ? e.src! : (f.src ?? 0);
  const off = e.fields.off === 'fixed' ? e.off! : (f.off ?? 0);
  const imm = e.fields.imm === 'fixed' ? e.imm! : (f.imm ?? 0);
  if (e.fields.dst === 'reg') checkReg(e.name, 'dst', dst);
  if (e.fields.src === 'reg') checkReg(e.name, 'src', src);
  checkInt(e.name, 'offset', off, ...S16);
  checkInt(e.name, 'imm', imm, ...IMM);
  const insn: Instruction = { code: e.code, dst, src, off, imm: imm | 0 };
  let out: Instruction = insn;
  if (e.kind === 'lddw') out = { ...out, imm2: (f.imm2 ?? 0) | 0 };
  if (f.reference !== undefined) out = { ...out, reference: f.reference };
  return out;
}

/** A jump target: a label name (resolved at encode time) or a raw relative offset. */
export type Target = string | number;
const target = (t: Target): Fields => (typeof t === 'string' ? { reference: t } : { off: t });

type AluOps = {
  [K in 'add' | 'sub' | 'mul' | 'div' | 'sdiv' | 'or' | 'and' | 'lsh' | 'rsh' | 'mod' | 'smod' | 'xor' | 'mov' | 'arsh']: {
    /** `dst op= imm` */
    imm(dst: Reg, imm: number): Instruction;
    /** `dst op= src` */
    reg(dst: Reg, src: Reg): Instruction;
  };
};

function aluFamily(prefix: 'alu64' | 'alu32') {
  const ops = {} as AluOps;
  for (const op of ['add', 'sub', 'mul', 'div', 'sdiv', 'or', 'and', 'lsh', 'rsh', 'mod', 'smod', 'xor', 'mov', 'arsh'] as const) {
    const ei = opcode(`${prefix}.${op}.imm`);
    const er = opcode(`${prefix}.${op}.reg`);
    ops[op] = {
      imm: (dst, imm) => make(ei, { dst, imm }),
      reg: (dst, src) => make(er, { dst, src }),
    };
  }
  const neg = opcode(`${prefix}.neg`);
  const sx8 = opcode(`${prefix}.movsx8`);
  const sx16 = opcode(`${prefix}.movsx16`);
  return {
    ...ops,
    /** `dst = -dst` */
    neg: (dst: Reg) => make(neg, { dst }),
    /** `dst = (s8)src` (sign-extending move, ISA v4) */
    movsx8: (dst: Reg, src: Reg) => make(sx8, { dst, src }),
    /** `dst = (s16)src` (ISA v4) */
    movsx16: (dst: Reg, src: Reg) => make(sx16, { dst, src }),
  };
}

/** 64-bit ALU: `alu64.add.imm(r1, 22)` is `r1 += 22`. */
export const alu64 = {
  ...aluFamily('alu64'),
  /** `dst = (s32)src` (ISA v4) */
  movsx32: (dst: Reg, src: Reg) => make(opcode('alu64.movsx32'), { dst, src }),
  /** `dst = bswap16 dst` (ISA v4) */
  bswap16: (dst: Reg) => make(opcode('alu64.bswap16'), { dst }),
  /** `dst = bswap32 dst` (ISA v4) */
  bswap32: (dst: Reg) => make(opcode('alu64.bswap32'), { dst }),
  /** `dst = bswap64 dst` (ISA v4) */
  bswap64: (dst: Reg) => make(opcode('alu64.bswap64'), { dst }),
  /** Arena pointer cast: `dst = addr_space_cast(src, dstAs, srcAs)`; one of the spaces must be 1. */
  addr_space_cast: (dst: Reg, src: Reg, dstAs: 0 | 1, srcAs: 0 | 1) =>
    make(opcode('alu64.addr_space_cast'), { dst, src, imm: (dstAs << 16) | srcAs }),
};

/** 32-bit ALU (`w` registers; results zero-extend): `alu32.add.imm(r1, 1)` is `w1 += 1`. */
export const alu32 = aluFamily('alu32');

/** Byte-order conversion (ALU class): `end.be16(r1)` is `r1 = be16 r1`. */
export const end = {
  le16: (dst: Reg) => make(opcode('end.le16'), { dst }),
  le32: (dst: Reg) => make(opcode('end.le32'), { dst }),
  le64: (dst: Reg) => make(opcode('end.le64'), { dst }),
  be16: (dst: Reg) => make(opcode('end.be16'), { dst }),
  be32: (dst: Reg) => make(opcode('end.be32'), { dst }),
  be64: (dst: Reg) => make(opcode('end.be64'), { dst }),
};

type JmpOps = {
  [K in 'jeq' | 'jgt' | 'jge' | 'jset' | 'jne' | 'jsgt' | 'jsge' | 'jlt' | 'jle' | 'jslt' | 'jsle']: {
    /** `if dst op imm goto target` */
    imm(dst: Reg, imm: number, to: Target): Instruction;
    /** `if dst op src goto target` */
    reg(dst: Reg, src: Reg, to: Target): Instruction;
  };
};

function jmpFamily(prefix: 'jmp' | 'jmp32'): JmpOps {
  const ops = {} as JmpOps;
  for (const op of ['jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle'] as const) {
    const ei = opcode(`${prefix}.${op}.imm`);
    const er = opcode(`${prefix}.${op}.reg`);
    ops[op] = {
      imm: (dst, imm, to) => make(ei, { dst, imm, ...target(to) }),
      reg: (dst, src, to) => make(er, { dst, src, ...target(to) }),
    };
  }
  return ops;
}

/** 64-bit jumps: `jmp.jgt.reg(r1, r2, 'out')`; `jmp.ja('out')` is `goto out`. */
export const jmp = {
  ...jmpFamily('jmp'),
  /** `goto target` (16-bit offset) */
  ja: (to: Target) => make(opcode('jmp.ja'), target(to)),
  /** `may_goto target`: the verifier-bounded loop escape (kernel >= 6.9). */
  may_goto: (to: Target) => make(opcode('jmp.may_goto'), target(to)),
};

/** 32-bit jumps compare `w` registers; `jmp32.ja` is `gotol` (32-bit offset, ISA v4). */
export const jmp32 = {
  ...jmpFamily('jmp32'),
  /** `gotol target` */
  ja: (to: Target) => make(opcode('jmp32.ja'), typeof to === 'string' ? { reference: to } : { imm: to }),
};

/** A map named in the object (resolved by the loader) or a raw fd / fd_array index. */
export type MapRef = string | number;
const mapRef = (m: MapRef): Fields => (typeof m === 'string' ? { reference: m } : { imm: m });

const ldAbs = (s: 'w' | 'h' | 'b') => (imm: number) => make(opcode(`ld.abs.${s}`), { imm });
const ldInd = (s: 'w' | 'h' | 'b') => (src: Reg, imm: number) => make(opcode(`ld.ind.${s}`), { src, imm });

/** The 16-byte immediate load in each pseudo form, and the legacy packet loads. */
export const ld = {
  /** `dst = value ll` — a 64-bit constant. */
  imm64: (dst: Reg, value: bigint | number) => {
    const { imm, imm2 } = splitImm64(value);
    return make(opcode('ld.imm64'), { dst, imm, imm2 });
  },
  /** `dst = map` — a map pointer, by name (loader-resolved) or fd. */
  map_fd: (dst: Reg, map: MapRef) => make(opcode('ld.map_fd'), { dst, ...mapRef(map) }),
  /** `dst = &map.value[offset]` — a pointer into a map value (global data). */
  map_value: (dst: Reg, map: MapRef, offset = 0) => make(opcode('ld.map_value'), { dst, ...mapRef(map), imm2: offset }),
  /** `dst = &ksym` — a kernel variable by BTF id. */
  btf_id: (dst: Reg, btfId: number) => make(opcode('ld.btf_id'), { dst, imm: btfId }),
  /** `dst = &func` — a subprogram pointer (callback), by symbol or relative offset. */
  func: (dst: Reg, fn: Target) => make(opcode('ld.func'), typeof fn === 'string' ? { dst, reference: fn } : { dst, imm: fn }),
  /** `dst = map` with the map given as an fd_array index. */
  map_idx: (dst: Reg, index: number) => make(opcode('ld.map_idx'), { dst, imm: index }),
  /** `dst = &map.value[offset]` with the map given as an fd_array index. */
  map_idx_value: (dst: Reg, index: number, offset = 0) => make(opcode('ld.map_idx_value'), { dst, imm: index, imm2: offset }),
  /** Legacy packet loads `r0 = *(size *)skb[imm]` (socket filters, classic BPF heritage). */
  abs: { w: ldAbs('w'), h: ldAbs('h'), b: ldAbs('b') },
  /** Legacy packet loads `r0 = *(size *)skb[src + imm]`. */
  ind: { w: ldInd('w'), h: ldInd('h'), b: ldInd('b') },
};

function memFamily<K extends 'ldx' | 'ldxs' | 'st' | 'stx'>(kind: K, sizes: readonly ('w' | 'h' | 'b' | 'dw')[]) {
  const out: Record<string, unknown> = {};
  for (const s of sizes) {
    const e = opcode(`${kind}.${s}`);
    out[s] =
      kind === 'ldx' || kind === 'ldxs'
        ? (dst: Reg, src: Reg, off: number) => make(e, { dst, src, off })
        : kind === 'st'
          ? (dst: Reg, off: number, imm: number) => make(e, { dst, off, imm })
          : (dst: Reg, off: number, src: Reg) => make(e, { dst, off, src });
  }
  return out;
}

type Sized<F> = { w: F; h: F; b: F; dw: F };
/** Loads: `ldx.w(r2, r1, 4)` is `r2 = *(u32 *)(r1 + 4)`. */
export const ldx = memFamily('ldx', ['w', 'h', 'b', 'dw']) as Sized<(dst: Reg, src: Reg, off: number) => Instruction>;
/** Sign-extending loads (ISA v4): `ldxs.b(r2, r1, 0)` is `r2 = *(s8 *)(r1 + 0)`. */
export const ldxs = memFamily('ldxs', ['w', 'h', 'b']) as Omit<Sized<(dst: Reg, src: Reg, off: number) => Instruction>, 'dw'>;
/** Stores of an immediate: `st.w(r10, -4, 0)` is `*(u32 *)(r10 - 4) = 0`. */
export const st = memFamily('st', ['w', 'h', 'b', 'dw']) as Sized<(dst: Reg, off: number, imm: number) => Instruction>;
/** Stores of a register: `stx.dw(r10, -8, r1)` is `*(u64 *)(r10 - 8) = r1`. */
export const stx = memFamily('stx', ['w', 'h', 'b', 'dw']) as Sized<(dst: Reg, off: number, src: Reg) => Instruction>;

/** An atomic read-modify-write on `*(size *)(dst + off)` with `src`. */
type AtomicRmw = (dst: Reg, off: number, src: Reg) => Instruction;
interface AtomicRmwSet {
  add: AtomicRmw; or: AtomicRmw; and: AtomicRmw; xor: AtomicRmw;
  fetch_add: AtomicRmw; fetch_or: AtomicRmw; fetch_and: AtomicRmw; fetch_xor: AtomicRmw;
  /** `src = xchg(dst + off, src)` */
  xchg: AtomicRmw;
  /** `r0 = cmpxchg(dst + off, r0, src)` */
  cmpxchg: AtomicRmw;
}
interface AcqRel {
  /** `dst = load_acquire((size *)(src + off))` (kernel >= 6.15) */
  load_acq: (dst: Reg, src: Reg, off: number) => Instruction;
  /** `store_release((size *)(dst + off), src)` (kernel >= 6.15) */
  store_rel: (dst: Reg, off: number, src: Reg) => Instruction;
}

function atomicFamily(size: 'w' | 'h' | 'b' | 'dw'): Partial<AtomicRmwSet> & AcqRel {
  const out: Record<string, unknown> = {};
  const rmw = ['add', 'or', 'and', 'xor', 'fetch_add', 'fetch_or', 'fetch_and', 'fetch_xor', 'xchg', 'cmpxchg'] as const;
  if (size === 'w' || size === 'dw') {
    for (const op of rmw) {
      const e = opcode(`atomic.${size}.${op}`);
      out[op] = (dst: Reg, off: number, src: Reg) => make(e, { dst, off, src });
    }
  }
  const acq = opcode(`atomic.${size}.load_acq`);
  const rel = opcode(`atomic.${size}.store_rel`);
  out['load_acq'] = (dst: Reg, src: Reg, off: number) => make(acq, { dst, src, off });
  out['store_rel'] = (dst: Reg, off: number, src: Reg) => make(rel, { dst, off, src });
  return out as unknown as Partial<AtomicRmwSet> & AcqRel;
}

/** Atomics: `atomic.dw.fetch_add(r1, 0, r2)` is `r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)`. */
export const atomic = {
  w: atomicFamily('w') as AtomicRmwSet & AcqRel,
  dw: atomicFamily('dw') as AtomicRmwSet & AcqRel,
  h: atomicFamily('h') as AcqRel,
  b: atomicFamily('b') as AcqRel,
};

/** Resolves a helper by id or name (with or without `bpf_`), throwing for an unknown name. */
export function helperId(helper: number | string): number {
  if (typeof helper === 'number') return helper;
  const name = helper.startsWith('bpf_') ? helper.slice(4) : helper;
  const id = (BpfFuncId as Record<string, number>)[name];
  if (id === undefined) throw new InvalidOperandError('call.helper', `unknown helper "${helper}"`);
  return id;
}

/** Calls. */
export const call = {
  /** `call helper` by id or kernel name: `call.helper('map_lookup_elem')`. */
  helper: (helper: number | HelperName | `bpf_${HelperName}`) => make(opcode('call.helper'), { imm: helperId(helper) }),
  /** BPF-to-BPF call of a subprogram, by symbol (resolved at encode time) or relative offset. */
  func: (fn: Target) => make(opcode('call.func'), typeof fn === 'string' ? { reference: fn } : { imm: fn }),
  /** kfunc call by BTF id; `btfFdIndex` selects module BTF in fd_array (0 = vmlinux). */
  kfunc: (btfId: number, name?: string, btfFdIndex = 0) =>
    make(opcode('call.kfunc'), { imm: btfId, off: btfFdIndex, ...(name === undefined ? {} : { reference: name }) }),
};

/** `exit`: return r0. */
export const exit = (): Instruction => make(opcode('exit'), {});

/** A label for `program(...)`: the next instruction gets this symbol. */
export const label = (name: string): Label => ({ label: name });

/**
 * Flattens a list of instructions, nested lists and labels into an instruction list, giving
 * each label's name as `symbol` to the instruction that follows it.
 */
export function program(...items: readonly (Instruction | Label | readonly (Instruction | Label)[])[]): Instruction[] {
  const out: Instruction[] = [];
  let pending: string | undefined;
  const visit = (item: Instruction | Label | readonly (Instruction | Label)[]): void => {
    if (Array.isArray(item)) {
      for (const x of item as readonly (Instruction | Label)[]) visit(x);
      return;
    }
    if ('label' in (item as object)) {
      const name = (item as Label).label;
      if (pending !== undefined) throw new InvalidOperandError('label', `labels "${pending}" and "${name}" name the same instruction`);
      pending = name;
      return;
    }
    const insn = item as Instruction;
    out.push(pending === undefined ? insn : { ...insn, symbol: pending });
    pending = undefined;
  };
  for (const item of items) visit(item);
  if (pending !== undefined) throw new InvalidOperandError('label', `label "${pending}" is not followed by an instruction`);
  return out;
}

/** Pseudo-source constants, re-exported for users building raw instructions. */
export { PseudoCall, PseudoLd };
