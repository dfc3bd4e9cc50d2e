// The kernel syntax table: kernel/bpf/disasm.c print_bpf_insn's formats, for verifier logs.

import type { Instruction } from '../isa/instruction.js';
import { Class, type OpcodeEntry, PseudoCall, PseudoLd, SIZE_TYPE, classOf } from '../isa/opcodes.js';
import { BpfFuncId } from '../isa/uapi.generated.js';
import { formatWithSign, registerTemplate, bits, type Syntax } from './syntax.js';

/**
 * Callbacks a caller (the verifier, bpftool-style dumps) passes to customise the kernel
 * syntax, like the kernel's `struct bpf_insn_cbs`.
 */
export interface KernelCallbacks {
  /**
   * The name printed for a call (`cb_call`): consulted for every call that is not a known
   * helper; return undefined for the default (`pc+5`, `kernel-function`, `unknown`).
   */
  call?(insn: Instruction): string | undefined;
  /**
   * How an `lddw`'s 64-bit immediate prints (`cb_imm`), e.g. `map[id:3]` or
   * `map[id:3][0]+8`; the default is `0x%llx`.
   */
  imm?(insn: Instruction, value: bigint): string;
}

/** Options of the kernel syntax. */
export interface KernelSyntaxOptions {
  /** Callbacks for call names and lddw immediates. */
  callbacks?: KernelCallbacks;
  /**
   * Whether pointer values may be shown (the kernel's `allow_ptr_leaks`). When false, the
   * immediate of an `lddw` that loads a map or kernel-symbol pointer prints as 0. Default true.
   */
  allowPtrLeaks?: boolean;
}

/** The kernel options with defaults applied. */
export type ResolvedKernelOptions = KernelSyntaxOptions & { allowPtrLeaks: boolean };

const HELPER_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(BpfFuncId).map(([name, id]) => [id as number, `bpf_${name}`]));

/** The kernel's name of a helper id (`bpf_map_lookup_elem`), or undefined for an unknown id. */
export function helperName(id: number): string | undefined {
  return id === 0 ? undefined : HELPER_NAMES.get(id);
}

const CLASS_NAME = ['ld', 'ldx', 'st', 'stx', 'alu', 'jmp', 'jmp32', 'alu64'];

/** The kernel template of an entry, without the `(%02x) ` prefix. */
export function kernelTemplate(e: OpcodeEntry): string {
  const R = e.width === 32 ? 'w' : 'r';
  const T = e.bytes ? SIZE_TYPE[e.code & 0x18]! : '';
  const mem = '(r{dst} {off})';
  const a64 = e.bytes === 8 ? '64' : '';
  switch (e.kind) {
    case 'alu':
    case 'neg':
    case 'movsx':
    case 'addr_space_cast':
    case 'end':
    case 'bswap':
      return registerTemplate(e)!;
    case 'jmp':
      return e.fields.src === 'reg' ? `if ${R}{dst} ${e.sym} ${R}{src} goto pc{jmp}` : `if ${R}{dst} ${e.sym} {immx} goto pc{jmp}`;
    case 'ja':
      return 'goto pc{jmp}';
    case 'gotol':
      return 'gotol pc{jmpl}';
    case 'may_goto':
      return 'may_goto pc{jmp}';
    case 'call':
      return e.src === PseudoCall.CALL ? 'call pc{callee}' : 'call {callee}#{imm}';
    case 'exit':
      return 'exit';
    case 'lddw':
      return 'r{dst} = {imm64}';
    case 'ldabs':
      return `r0 = *(${T} *)skb[{imm}]`;
    case 'ldind':
      return `r0 = *(${T} *)skb[r{src} + {imm}]`;
    case 'ldx':
      return `r{dst} = *(${T} *)(r{src} {off})`;
    case 'ldxsx':
      return `r{dst} = *(s${bits(e)} *)(r{src} {off})`;
    case 'st':
      return `*(${T} *)${mem} = {imm}`;
    case 'stx':
      return `*(${T} *)${mem} = r{src}`;
    case 'atomic':
      switch (e.op) {
        case 'add':
        case 'or':
        case 'and':
        case 'xor':
          return `lock *(${T} *)${mem} ${e.sym} r{src}`;
        case 'cmpxchg':
          return `r0 = atomic${a64}_cmpxchg((${T} *)${mem}, r0, r{src})`;
        case 'xchg':
          return `r{src} = atomic${a64}_xchg((${T} *)${mem}, r{src})`;
        case 'load_acq':
          return `r{dst} = load_acquire((${T} *)(r{src} {off}))`;
        case 'store_rel':
          return `store_release((${T} *)${mem}, r{src})`;
        default:
          return `r{src} = atomic${a64}_fetch_${e.sym}((${T} *)${mem}, r{src})`;
      }
  }
}

const POINTER_SOURCES: readonly number[] = [PseudoLd.MAP_FD, PseudoLd.MAP_VALUE, PseudoLd.MAP_IDX, PseudoLd.MAP_IDX_VALUE, PseudoLd.BTF_ID];

/** The kernel syntax: print_bpf_insn's output (`(07) r1 += 22`, `(85) call bpf_map_lookup_elem#1`). */
export const kernelSyntax: Syntax<ResolvedKernelOptions> = {
  // Like the kernel, print what the encoding says even when a reserved field is set; only an
  // encoding no entry matches falls back.
  template: (e, insn) => (e.kind === 'lddw' && insn.imm2 === undefined ? undefined : `(${hex2(e.code)}) ${kernelTemplate(e)}`),
  slot(name, insn, o) {
    switch (name) {
      case 'imm':
        return String(insn.imm | 0);
      case 'immx':
        return `0x${(insn.imm >>> 0).toString(16)}`;
      case 'off':
      case 'jmp':
        return formatWithSign(insn.off, false);
      case 'jmpl':
        return formatWithSign(insn.imm, false);
      case 'asdst':
        return String(insn.imm >>> 16);
      case 'assrc':
        return String(insn.imm & 0xffff);
      case 'imm64': {
        let value = BigInt.asUintN(64, (BigInt(insn.imm2 ?? 0) << 32n) | BigInt(insn.imm >>> 0));
        if (POINTER_SOURCES.includes(insn.src) && !o.allowPtrLeaks) value = 0n;
        return o.callbacks?.imm ? o.callbacks.imm(insn, value) : `0x${value.toString(16)}`;
      }
      case 'callee': {
        if (insn.src === PseudoCall.HELPER && insn.imm >= 0) {
          const known = helperName(insn.imm);
          if (known) return known;
        }
        const named = o.callbacks?.call?.(insn);
        if (named !== undefined) return named;
        if (insn.src === PseudoCall.CALL) return formatWithSign(insn.imm, false);
        return insn.src === PseudoCall.KFUNC_CALL ? 'kernel-function' : 'unknown';
      }
      default:
        throw new Error(`kernel syntax: unknown placeholder {${name}}`);
    }
  },
  unknown(insn) {
    const cls = classOf(insn.code);
    switch (cls) {
      case Class.STX:
        return `BUG_${hex2(insn.code)}`;
      case Class.ST:
        return `BUG_st_${hex2(insn.code)}`;
      case Class.LDX:
        return `BUG_ldx_${hex2(insn.code)}`;
      case Class.LD:
        return `BUG_ld_${hex2(insn.code)}`;
      default:
        return `(${hex2(insn.code)}) BUG_${CLASS_NAME[cls]}_${hex2(insn.code)}`;
    }
  },
};

/** Two lowercase hex digits, like `%02x`. */
export const hex2 = (n: number): string => (n & 0xff).toString(16).padStart(2, '0');
