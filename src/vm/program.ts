// Pre-decoding: Instructions -> flat typed arrays the interpreter loop reads without allocating.

import { resolveReferences } from '../isa/encode.js';
import { type Instruction, slotOffsets } from '../isa/instruction.js';
import { matchEntry, type OpcodeEntry, PseudoCall, PseudoLd } from '../isa/opcodes.js';
import { BpfFuncId } from '../isa/uapi.generated.js';
import { ExecutionError, InvalidProgramError, UnknownHelperError } from './errors.js';
import { type HelperFn, type HelperTable, unmodelledCall, unmodelledCallee, type UnmodelledCallee } from './helpers.js';

/**
 * Handler numbers, in the order the interpreter's `switch` lists its cases. The interpreter
 * spells them as literals (a dense literal switch becomes a jump table); this list is the key.
 */
export const HANDLERS = [
  // 0..17: ALU64
  'add64', 'sub64', 'mul64', 'div64', 'sdiv64', 'or64', 'and64', 'lsh64', 'rsh64', 'mod64', 'smod64', 'xor64', 'mov64', 'arsh64',
  'neg64', 'movsx8_64', 'movsx16_64', 'movsx32_64',
  // 18..34: ALU32
  'add32', 'sub32', 'mul32', 'div32', 'sdiv32', 'or32', 'and32', 'lsh32', 'rsh32', 'mod32', 'smod32', 'xor32', 'mov32', 'arsh32',
  'neg32', 'movsx8_32', 'movsx16_32',
  // 35..43: byte order
  'le16', 'le32', 'le64', 'be16', 'be32', 'be64', 'bswap16', 'bswap32', 'bswap64',
  // 44..55: JMP
  'ja', 'jeq', 'jgt', 'jge', 'jset', 'jne', 'jsgt', 'jsge', 'jlt', 'jle', 'jslt', 'jsle',
  // 56..67: JMP32 (56 is gotol)
  'gotol', 'jeq32', 'jgt32', 'jge32', 'jset32', 'jne32', 'jsgt32', 'jsge32', 'jlt32', 'jle32', 'jslt32', 'jsle32',
  // 68..74
  'may_goto', 'call_helper', 'call_func', 'exit', 'lddw', 'ldabs', 'ldind',
  // 75..81: loads
  'ldx_b', 'ldx_h', 'ldx_w', 'ldx_dw', 'ldxs_b', 'ldxs_h', 'ldxs_w',
  // 82..89: stores
  'st_b', 'st_h', 'st_w', 'st_dw', 'stx_b', 'stx_h', 'stx_w', 'stx_dw',
  // 90..93: atomics
  'atomic_w', 'atomic_dw', 'load_acq', 'store_rel',
  // 94: a slot execution must never reach (second half of lddw, the end of the program)
  'trap',
] as const;

/** A handler name. */
export type HandlerName = (typeof HANDLERS)[number];
const H = new Map<string, number>(HANDLERS.map((n, i) => [n, i]));
const handler = (name: HandlerName): number => H.get(name)!;

/** Number of int32 fields per slot in `PreparedProgram.code`. */
export const STRIDE = 8;
/** Field offsets within a slot. */
export const F_HANDLER = 0, F_DST = 1, F_SRC = 2, F_OFF = 3, F_IMM = 4, F_AUX = 5, F_TARGET = 6;
/** Register index of the first immediate in the constant pool (after r0..r10). */
export const FIRST_CONST = 11;

/** What an `lddw` pseudo form resolves to: a 64-bit value as halves. */
export interface ResolvedValue {
  readonly lo: number;
  readonly hi: number;
}

/**
 * Resolves an `lddw` whose source is a pseudo form (map fd, map value, map index, BTF id) to a
 * 64-bit value, typically the address of a map or of a byte in a map value's region. `ld.func`
 * (a callback pointer) is resolved by the runtime itself.
 */
export type LdResolver = (insn: Instruction, pc: number) => ResolvedValue;

/** Options for `prepareProgram`. */
export interface PrepareOptions {
  /** Helper implementations; each `call` is bound to its function now, so an unknown id fails here. */
  helpers?: HelperTable;
  /** Resolves `lddw` pseudo forms other than imm64 and func. */
  resolve?: LdResolver;
  /**
   * Kfunc implementations by name (src/ctx/kfuncs), bound to each `call kfunc` now. A kfunc
   * missing from it becomes an UnmodelledCallError when a run reaches the call.
   */
  kfuncs?: ReadonlyMap<string, HelperFn>;
  /** Why a kfunc missing from `kfuncs` is not modelled (default: "not implemented by the userspace runtime"). */
  kfuncReason?: (name: string) => string | undefined;
  /**
   * Array maps whose `bpf_map_lookup_elem` a compiler may inline, by map pointer (the kernel's
   * map_gen_lookup). Give it only when the helper table's map_lookup_elem is the runtime's own.
   */
  inlineMap?: (address: number) => InlineMapLookup | undefined;
}

/** A map lookup a compiler may generate instead of calling the helper. */
export type InlineMapLookup = InlineArrayLookup | InlineHashLookup;

/**
 * A hash map's lookup over tables in the address space's memory (src/maps/hash.ts): jhash of
 * the key, its bucket's list walked through `next`, hashes and keys compared.
 */
export interface InlineHashLookup {
  readonly kind: 'hash';
  /** Memory offset of slot 0's value on CPU 0. */
  readonly dataOffset: number;
  /** High word (region tag) of the value pointers. */
  readonly tag: number;
  /** Memory offsets of the bucket heads (i32), next links (i32), hashes (u32) and keys. */
  readonly heads: number;
  readonly next: number;
  readonly hashes: number;
  readonly keys: number;
  /** key_size. */
  readonly keySize: number;
  /** Buckets (a power of two). */
  readonly nBuckets: number;
  /** jhash's initval. */
  readonly seed: number;
  /** Bytes from one slot's values to the next. */
  readonly slotStride: number;
  /** Bytes from one CPU's value to the next within a slot (0 when not per-CPU). */
  readonly cpuStride: number;
  /** value_size: the bytes a program may reach through a value pointer. */
  readonly valueSize: number;
  /** Whether programs may store to the values (not BPF_F_RDONLY_PROG). */
  readonly writable: boolean;
}

/**
 * An array map's lookup as address arithmetic, for compilers to inline (the kernel's
 * map_gen_lookup): index < maxEntries ? value pointer of (index, cpu) : NULL.
 */
export interface InlineArrayLookup {
  readonly kind: 'array';
  /** Memory offset of index 0's value on CPU 0. */
  readonly dataOffset: number;
  /** High word (region tag) of the value pointers. */
  readonly tag: number;
  /** max_entries. */
  readonly maxEntries: number;
  /** Bytes from one index's values to the next. */
  readonly indexStride: number;
  /** Bytes from one CPU's value to the next within an index (0 when not per-CPU). */
  readonly cpuStride: number;
  /** value_size: the bytes a program may reach through a value pointer. */
  readonly valueSize: number;
  /** Whether programs may store to the values (not .rodata, not BPF_F_RDONLY_PROG). */
  readonly writable: boolean;
}

/** A call site of a callee the runtime does not model (it faults when a run reaches it). */
export interface UnmodelledCall extends UnmodelledCallee {
  /** Slot index of the call. */
  readonly pc: number;
}

/** High word of the values `ld.func` loads (callback pointers): low word = target slot. */
export const FUNC_TAG = 0xf0;

/**
 * A program decoded once for execution. `code` holds STRIDE int32 fields per slot: handler,
 * dst, src (a register, or a constant-pool index >= FIRST_CONST for immediate operands), off,
 * imm, aux (lddw high word, atomic op, access size, helper index), absolute jump target.
 * The slot after the last instruction is a trap.
 */
export interface PreparedProgram {
  /** The instructions it was prepared from. */
  readonly insns: readonly Instruction[];
  /** Number of 8-byte slots (lddw counts 2). */
  readonly slots: number;
  /** STRIDE fields per slot, plus one trap slot at the end. */
  readonly code: Int32Array;
  /** Immediate operands: pool entry i is register FIRST_CONST + i. */
  readonly constLo: Int32Array;
  /** High words of the pool (sign extension of the immediate). */
  readonly constHi: Int32Array;
  /** Helper functions, indexed by a call slot's aux field. */
  readonly helperFns: readonly HelperFn[];
  /** Helper ids, parallel to helperFns. */
  readonly helperIds: readonly number[];
  /** The calls of helpers and kfuncs the runtime does not model, in program order: a run that reaches one faults there. */
  readonly unmodelledCalls: readonly UnmodelledCall[];
  /** From PrepareOptions.inlineMap. */
  readonly inlineMap?: (address: number) => InlineMapLookup | undefined;
}

const ALU_OFFSET: Record<string, number> = {
  add: 0, sub: 1, mul: 2, div: 3, sdiv: 4, or: 5, and: 6, lsh: 7, rsh: 8, mod: 9, smod: 10, xor: 11, mov: 12, arsh: 13,
};
const JMP_OFFSET: Record<string, number> = {
  jeq: 1, jgt: 2, jge: 3, jset: 4, jne: 5, jsgt: 6, jsge: 7, jlt: 8, jle: 9, jslt: 10, jsle: 11,
};
const SIZE_NAME: Record<number, string> = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' };

/** Stands in for bpf_tail_call when the table has none: the interpreter's TailCallHook serves it, if given. */
const noTailCalls: HelperFn = (vm) => {
  throw new ExecutionError(vm.pc, 'bpf_tail_call needs a tail-call hook (prog arrays are not attached)');
};

/** Maps an opcode entry to its handler, or a reason the runtime cannot run it. */
function handlerOf(e: OpcodeEntry): number | string {
  switch (e.kind) {
    case 'alu':
      return (e.width === 64 ? 0 : 18) + ALU_OFFSET[e.op!]!;
    case 'neg':
      return e.width === 64 ? handler('neg64') : handler('neg32');
    case 'movsx':
      return handler(`movsx${e.bytes! * 8}_${e.width}` as HandlerName);
    case 'end':
      return handler(`${e.op}${e.bytes! * 8}` as HandlerName);
    case 'bswap':
      return handler(`bswap${e.bytes! * 8}` as HandlerName);
    case 'jmp':
      return (e.width === 64 ? 44 : 56) + JMP_OFFSET[e.op!]!;
    case 'ja':
      return handler('ja');
    case 'gotol':
      return handler('gotol');
    case 'may_goto':
      return handler('may_goto');
    case 'call':
      if (e.src === PseudoCall.HELPER) return handler('call_helper');
      if (e.src === PseudoCall.CALL) return handler('call_func');
      // A kfunc runs like a helper: its function is bound in the helper table (helper id -1).
      return handler('call_helper');
    case 'exit':
      return handler('exit');
    case 'lddw':
      return handler('lddw');
    case 'ldabs':
      return handler('ldabs');
    case 'ldind':
      return handler('ldind');
    case 'ldx':
      return handler(`ldx_${SIZE_NAME[e.bytes!]}` as HandlerName);
    case 'ldxsx':
      return handler(`ldxs_${SIZE_NAME[e.bytes!]}` as HandlerName);
    case 'st':
      return handler(`st_${SIZE_NAME[e.bytes!]}` as HandlerName);
    case 'stx':
      return handler(`stx_${SIZE_NAME[e.bytes!]}` as HandlerName);
    case 'atomic':
      if (e.op === 'load_acq') return handler('load_acq');
      if (e.op === 'store_rel') return handler('store_rel');
      return e.bytes === 8 ? handler('atomic_dw') : handler('atomic_w');
    case 'addr_space_cast':
      return 'addr_space_cast (arena) is not supported by the userspace runtime';
  }
}

/**
 * Decodes `source` once into flat arrays, resolving label references first. Checks what the kernel's verifier would reject
 * structurally — unknown encodings, jumps out of the program or into the middle of an `lddw`,
 * calls of helpers the table lacks, pseudo `lddw` with nothing to resolve it — and throws
 * InvalidProgramError / UnknownHelperError naming the slot.
 */
export function prepareProgram(source: readonly Instruction[], options: PrepareOptions = {}): PreparedProgram {
  // Jump and call labels (from the builder) become offsets, as `encode` would make them.
  const insns = resolveReferences(source);
  if (insns.length === 0) throw new InvalidProgramError(-1, 'the program has no instructions');
  const slotOf = slotOffsets(insns);
  const slots = slotOf[insns.length]!;
  const code = new Int32Array((slots + 1) * STRIDE);
  const isStart = new Uint8Array(slots + 1);
  for (let i = 0; i < insns.length; i++) isStart[slotOf[i]!] = 1;
  const trap = handler('trap');
  for (let s = 0; s <= slots; s++) code[s * STRIDE] = trap;

  const pool = new Map<number, number>();
  const constLo: number[] = [];
  const constHi: number[] = [];
  const constReg = (imm: number): number => {
    let i = pool.get(imm);
    if (i === undefined) {
      i = constLo.length;
      pool.set(imm, i);
      constLo.push(imm | 0);
      constHi.push((imm | 0) >> 31);
    }
    return FIRST_CONST + i;
  };
  const helperFns: HelperFn[] = [];
  const helperIds: number[] = [];
  const helperIndex = new Map<number, number>();
  const unmodelledCalls: UnmodelledCall[] = [];

  const jumpTarget = (pc: number, delta: number): number => {
    const t = pc + delta + 1;
    if (t < 0 || t >= slots) throw new InvalidProgramError(pc, `jump to slot ${t} is outside the program (0..${slots - 1})`);
    if (!isStart[t]) throw new InvalidProgramError(pc, `jump to slot ${t} lands in the middle of an lddw`);
    return t;
  };

  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i]!;
    const pc = slotOf[i]!;
    const e = matchEntry(insn.code, insn.src, insn.off, insn.imm);
    if (!e) throw new InvalidProgramError(pc, `invalid instruction (opcode 0x${insn.code.toString(16).padStart(2, '0')})`);
    const h = handlerOf(e);
    if (typeof h === 'string') throw new InvalidProgramError(pc, h);
    const b = pc * STRIDE;
    code[b] = h;
    code[b + F_DST] = insn.dst;
    code[b + F_OFF] = insn.off;
    code[b + F_IMM] = insn.imm | 0;
    const immediate = (e.kind === 'alu' || e.kind === 'jmp') && e.fields.src === 'zero';
    code[b + F_SRC] = immediate ? constReg(insn.imm) : insn.src;
    if (insn.dst > 10 || (e.fields.src === 'reg' && insn.src > 10)) throw new InvalidProgramError(pc, 'register out of range');
    switch (e.kind) {
      case 'jmp':
      case 'ja':
      case 'may_goto':
        code[b + F_TARGET] = jumpTarget(pc, insn.off);
        break;
      case 'gotol':
        code[b + F_TARGET] = jumpTarget(pc, insn.imm);
        break;
      case 'call':
        if (e.src === PseudoCall.CALL) code[b + F_TARGET] = jumpTarget(pc, insn.imm);
        else if (e.src === PseudoCall.KFUNC_CALL) {
          const name = insn.reference ?? `kfunc#${insn.imm}`;
          const fn = options.kfuncs?.get(name) ?? unmodelledCall({ kind: 'kfunc', name, reason: options.kfuncReason?.(name) ?? 'not implemented by the userspace runtime' });
          const callee = unmodelledCallee(fn);
          if (callee) unmodelledCalls.push({ ...callee, pc });
          code[b + F_AUX] = helperFns.length;
          helperFns.push(fn);
          helperIds.push(-1);
        } else {
          let k = helperIndex.get(insn.imm);
          if (k === undefined) {
            const fn = options.helpers?.get(insn.imm) ?? (insn.imm === BpfFuncId.tail_call ? noTailCalls : undefined);
            if (!fn) throw new UnknownHelperError(pc, insn.imm);
            k = helperFns.length;
            helperFns.push(fn);
            helperIds.push(insn.imm);
            helperIndex.set(insn.imm, k);
          }
          const callee = unmodelledCallee(helperFns[k]!);
          if (callee) unmodelledCalls.push({ ...callee, pc });
          code[b + F_AUX] = k;
        }
        break;
      case 'lddw':
        if (insn.src === PseudoLd.IMM64) code[b + F_AUX] = (insn.imm2 ?? 0) | 0;
        else if (insn.src === PseudoLd.FUNC) {
          // The kernel counts ld.func's offset from the lddw's first slot, like a call: pc + imm + 1.
          code[b + F_IMM] = jumpTarget(pc, insn.imm);
          code[b + F_AUX] = FUNC_TAG;
        } else {
          if (!options.resolve) throw new InvalidProgramError(pc, `${e.name} needs a resolver (maps are not attached)`);
          const v = options.resolve(insn, pc);
          code[b + F_IMM] = v.lo | 0;
          code[b + F_AUX] = v.hi | 0;
        }
        break;
      case 'ldabs':
      case 'ldind':
        code[b + F_AUX] = e.bytes!;
        break;
      case 'atomic':
        code[b + F_AUX] = e.op === 'load_acq' || e.op === 'store_rel' ? e.bytes! : insn.imm;
        break;
      default:
        break;
    }
  }
  return {
    insns,
    slots,
    code,
    constLo: Int32Array.from(constLo),
    constHi: Int32Array.from(constHi),
    helperFns,
    helperIds,
    unmodelledCalls,
    ...(options.inlineMap ? { inlineMap: options.inlineMap } : {}),
  };
}
