// The llvm syntax table: what llvm-objdump prints for each opcode entry (and the assembler reads).

import { invalidReason } from '../isa/decode.js';
import type { Instruction } from '../isa/instruction.js';
import { AtomicOp, type OpcodeEntry, OPCODES_BY_CODE, PseudoLd, SIZE_TYPE } from '../isa/opcodes.js';
import { formatSigned, formatWithSign, imm64Signed, registerTemplate, bits, type Syntax } from './syntax.js';

/** Options of the llvm syntax. */
export interface LlvmSyntaxOptions {
  /**
   * Print immediates and offsets in hex (`r0 = 0x2`, llvm-objdump's default,
   * `--print-imm-hex`) or decimal (`r0 = 2`, `--no-print-imm-hex`). Default true.
   */
  hex?: boolean;
  /**
   * Like `llvm-objdump --mattr=+alu32`: 8/16/32-bit loads, stores and atomic adds show their
   * value register as `w` (`w2 = *(u32 *)(r1 + 0x4)`). Default false, as llvm-objdump.
   */
  alu32?: boolean;
  /**
   * Reproduce llvm-objdump-16 exactly, including what it cannot decode: `<unknown>` for
   * BPF_ST, the cpu v4 encodings and (without `alu32`) 32-bit atomics other than add, and its
   * lossy decodings (sdiv as `/=`, movsx as a plain move, a 32-bit fetch-add as
   * `lock ... +=`). Default false: every valid encoding prints in the syntax newer LLVM
   * prints, and the output assembles back to the same bytes.
   */
  llvm16?: boolean;
}

/** The llvm options with defaults applied. */
export type ResolvedLlvmOptions = Required<LlvmSyntaxOptions>;

/** Which template variants the assembler should also know (the printer picks one). */
export interface TemplateVariant {
  /** Use the 32-bit (`w`) value register for sub-64-bit memory operations. */
  alu32: boolean;
  /** Print the optional operands even when zero (ld_pseudo's imm2, ld_ind's imm, kfunc's off). */
  full: boolean;
}

/** Size of a memory access in bits. */
/** The C type of a memory access (`u32`). */
const ctype = (e: OpcodeEntry): string => SIZE_TYPE[e.code & 0x18]!;

/**
 * The llvm template of an entry (newer LLVM's syntax, plus bpfkit's spellings where LLVM has
 * none that round-trips: `call pc-0x1` for a BPF-to-BPF call by offset, `call kfunc 0x5` for
 * a kfunc call, a fourth `ld_pseudo` operand for imm2, `skb[r1 + 0x5]` for ld_ind with an
 * immediate).
 */
export function llvmTemplate(e: OpcodeEntry, v: TemplateVariant): string {
  const R = e.width === 32 ? 'w' : 'r';
  // The value register of a memory access: LLVM decodes sub-64-bit MEM/ATOMIC ops from its
  // ALU32 table (w registers) when alu32 is on.
  const M = v.alu32 && e.bytes !== 8 ? 'w' : 'r';
  const T = e.bytes ? ctype(e) : '';
  switch (e.kind) {
    case 'alu':
    case 'neg':
    case 'movsx':
    case 'addr_space_cast':
    case 'end':
    case 'bswap':
      return registerTemplate(e)!;
    case 'jmp':
      return e.fields.src === 'reg' ? `if ${R}{dst} ${e.sym} ${R}{src} goto {jmp}` : `if ${R}{dst} ${e.sym} {imm} goto {jmp}`;
    case 'ja':
      return 'goto {jmp}';
    case 'gotol':
      return 'gotol {jmpl}';
    case 'may_goto':
      return 'may_goto {jmp}';
    case 'call':
      if (e.op === 'helper') return 'call {imm}';
      if (e.op === 'func') return 'call {callee}';
      return v.full ? 'call kfunc {imm}, {offn}' : 'call kfunc {imm}';
    case 'exit':
      return 'exit';
    case 'lddw':
      if (e.src === 0) return 'r{dst} = {imm64} ll';
      return v.full ? 'ld_pseudo\tr{dst}, {pseudo}, {imm}, {imm2}' : 'ld_pseudo\tr{dst}, {pseudo}, {imm}';
    case 'ldabs':
      return `r0 = *(${T} *)skb[{imm}]`;
    case 'ldind':
      return v.full ? `r0 = *(${T} *)skb[r{src} {immoff}]` : `r0 = *(${T} *)skb[r{src}]`;
    case 'ldx':
      return `${M}{dst} = *(${T} *)(r{src} {off})`;
    case 'ldxsx':
      return `r{dst} = *(s${bits(e)} *)(r{src} {off})`;
    case 'st':
      return `*(${T} *)(r{dst} {off}) = {imm}`;
    case 'stx':
      return `*(${T} *)(r{dst} {off}) = ${M}{src}`;
    case 'atomic':
      return atomicTemplate(e, M, T);
  }
}

function atomicTemplate(e: OpcodeEntry, M: 'r' | 'w', T: string): string {
  const W = e.bytes === 8 ? 'r' : 'w'; // only ALU32-table encodings exist for 32-bit fetch ops
  const mem = `(r{dst} {off})`;
  switch (e.op) {
    case 'add':
      return `lock *(${T} *)${mem} ${e.sym} ${M}{src}`;
    case 'or':
    case 'and':
    case 'xor':
      return `lock *(${T} *)${mem} ${e.sym} ${W}{src}`;
    case 'xchg':
      return W === 'r' ? `r{src} = xchg_64(r{dst} {off}, r{src})` : `w{src} = xchg32_32(r{dst} {off}, w{src})`;
    case 'cmpxchg':
      return W === 'r' ? `r0 = cmpxchg_64(r{dst} {off}, r0, r{src})` : `w0 = cmpxchg32_32(r{dst} {off}, w0, w{src})`;
    case 'load_acq':
      return `${W}{dst} = load_acquire((${T} *)(r{src} {off}))`;
    case 'store_rel':
      return `store_release((${T} *)${mem}, ${W}{src})`;
    default: // fetch_add, fetch_or, fetch_and, fetch_xor
      return `${W}{src} = atomic_fetch_${e.sym}((${T} *)${mem}, ${W}{src})`;
  }
}

/**
 * What llvm-objdump-16 makes of a valid encoding: undefined when it prints `<unknown>`, else
 * the template it prints (which may lose information).
 */
function llvm16Template(e: OpcodeEntry, insn: Instruction, o: ResolvedLlvmOptions): string | undefined {
  const v: TemplateVariant = { alu32: o.alu32, full: false };
  switch (e.kind) {
    case 'st':
    case 'ldxsx':
    case 'bswap':
    case 'gotol':
    case 'may_goto':
      return undefined;
    case 'alu':
      // sdiv/smod: LLVM 16 ignores the offset and prints the unsigned operator.
      if (e.cpu === 4) return llvmTemplate({ ...e, sym: e.sym!.slice(1) }, v);
      return llvmTemplate(e, v);
    case 'movsx':
    case 'addr_space_cast':
      // A mov with a non-zero offset: LLVM 16 ignores the offset.
      return e.width === 32 ? 'w{dst} = w{src}' : 'r{dst} = r{src}';
    case 'call':
      // LLVM 16 ignores the pseudo source: every call prints its immediate.
      return 'call {imm}';
    case 'lddw':
      return e.src === 0 ? llvmTemplate(e, v) : 'ld_pseudo\tr{dst}, {pseudo}, {imm}';
    case 'ldind':
      return llvmTemplate(e, v); // the immediate is not shown
    case 'jmp':
      return e.op === 'jset' ? undefined : llvmTemplate(e, v); // LLVM 16 has no JSET
    case 'atomic':
      return llvm16Atomic(e, insn, o.alu32);
    default:
      return llvmTemplate(e, v);
  }
}

/**
 * LLVM 16 decodes atomics by the operation bits 4-7 of the immediate and, for the fetching
 * forms, the fetch bit; other bits are not checked (so load-acquire, 0x100, reads as an add).
 * Without alu32 its only 32-bit atomic is XADDW (`lock *(u32 *) += r`).
 */
function llvm16Atomic(e: OpcodeEntry, insn: Instruction, alu32: boolean): string | undefined {
  const op = insn.imm & 0xf0;
  const fetch = (insn.imm & 0x0f) === AtomicOp.FETCH;
  const v: TemplateVariant = { alu32, full: false };
  if (e.bytes !== 8 && e.bytes !== 4) return undefined;
  if (e.bytes === 4 && !alu32) return op === AtomicOp.ADD ? 'lock *(u32 *)(r{dst} {off}) += r{src}' : undefined;
  const as = (imm: number): OpcodeEntry | undefined => OPCODES_BY_CODE[e.code]!.find((x) => x.imm === imm);
  const decoded = (fetch ? as(op | AtomicOp.FETCH) : undefined) ?? as(op);
  return decoded && decoded.cpu <= 3 ? llvmTemplate(decoded, v) : undefined;
}

/**
 * bpfkit's spelling of a map load whose map is known by name (a loader `reference`), where
 * llvm-objdump prints `r1 = 0x0 ll` and the relocation: `r1 = map[stats] ll` for a map fd
 * (BPF_PSEUDO_MAP_FD), `r1 = map_value[.bss] + 0x8 ll` for an address inside a map's value
 * (BPF_PSEUDO_MAP_VALUE, global data). Undefined for other entries. The assembler reads both
 * back into the same instruction, reference included.
 */
export function mapReferenceTemplate(e: OpcodeEntry): string | undefined {
  if (e.kind !== 'lddw') return undefined;
  if (e.src === PseudoLd.MAP_FD) return 'r{dst} = map[{ref}] ll';
  if (e.src === PseudoLd.MAP_VALUE) return 'r{dst} = map_value[{ref}] + {imm2} ll';
  return undefined;
}

/** The llvm syntax: llvm-objdump's output for files (`r1 += 0x16`, `if r1 > r2 goto +0x3`). */
export const llvmSyntax: Syntax<ResolvedLlvmOptions> = {
  template(e, insn, o) {
    if (insn.code === 0x18 && insn.imm2 === undefined) return undefined; // torn lddw
    if (invalidReason(insn, e) !== undefined) return undefined;
    if (o.llvm16) return llvm16Template(e, insn, o);
    const named = insn.reference !== undefined && /^[A-Za-z_.$][\w.$]*$/.test(insn.reference) ? mapReferenceTemplate(e) : undefined;
    if (named) return named;
    const full =
      (e.kind === 'lddw' && (insn.imm2 ?? 0) !== 0) || (e.kind === 'ldind' && insn.imm !== 0) || (e.name === 'call.kfunc' && insn.off !== 0);
    return llvmTemplate(e, { alu32: o.alu32, full });
  },
  slot(name, insn, o) {
    const hex = o.hex;
    switch (name) {
      case 'imm':
        return formatSigned(insn.imm, hex);
      case 'pseudo':
        return formatSigned(insn.src, hex);
      case 'imm2':
        return formatSigned(insn.imm2 ?? 0, hex);
      case 'imm64':
        return formatSigned(imm64Signed(insn), hex);
      case 'offn':
        return formatSigned(insn.off, hex);
      case 'off':
        return insn.off < 0 ? `- ${formatSigned(-insn.off, hex)}` : `+ ${formatSigned(insn.off, hex)}`;
      case 'immoff':
        return insn.imm < 0 ? `- ${formatSigned(-insn.imm, hex)}` : `+ ${formatSigned(insn.imm, hex)}`;
      case 'jmp':
        return insn.reference ?? formatWithSign(insn.off, hex);
      case 'jmpl':
        return insn.reference ?? formatWithSign(insn.imm, hex);
      case 'callee':
        return insn.reference ?? `pc${formatWithSign(insn.imm, hex)}`;
      case 'ref':
        return insn.reference ?? '';
      case 'asdst':
        return formatSigned(insn.imm >>> 16, hex);
      case 'assrc':
        return formatSigned(insn.imm & 0xffff, hex);
      default:
        throw new Error(`llvm syntax: unknown placeholder {${name}}`);
    }
  },
  unknown: () => '<unknown>',
};

/** Whether an entry is one llvm-objdump-16 / llvm-mc-16 know (cpu <= 3, not BPF_ST, not JSET). */
export const knownToLlvm16 = (e: OpcodeEntry): boolean => e.cpu <= 3 && e.kind !== 'st' && e.op !== 'jset';
