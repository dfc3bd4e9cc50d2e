// Applying CO-RE relocation results to instructions (libbpf's bpf_core_patch_insn), pure.

import { BpfkitError } from '../errors.js';
import { CORE_POISON_IMM, computeCoreRelo } from './core-relo.js';
import type { Btf } from './btf.js';
import type { CoreReloKind } from './ext.js';
import { type Instruction, LDDW, splitImm64 } from '../isa/instruction.js';
import { Class, Size, classOf, sizeOf } from '../isa/opcodes.js';

/** One relocation against a linked program's instruction list. */
export interface CoreReloSite {
  /** Index into the instruction array. */
  readonly insn: number;
  /** Root type id in the local BTF. */
  readonly typeId: number;
  /** Access string. */
  readonly accessString: string;
  /** Kind. */
  readonly kind: CoreReloKind;
}

/** What happened to one relocation, for logs and tests. */
export interface CoreReloOutcome {
  /** The site. */
  readonly site: CoreReloSite;
  /** The value written, or undefined when the instruction was poisoned. */
  readonly value: bigint | undefined;
  /** Why it was poisoned. */
  readonly poisoned?: string;
}

/** A CO-RE relocation that cannot be applied: malformed record, disagreeing candidates, a value that does not fit. */
export class CoreReloError extends BpfkitError {
  constructor(
    /** Index of the relocation in the program's list. */
    readonly index: number,
    /** The relocation. */
    readonly site: CoreReloSite,
    /** What is wrong. */
    readonly detail: string,
  ) {
    super('ERR_CORE_RELO', `CO-RE relocation ${index} (${site.kind}, type ${site.typeId}, access "${site.accessString}", instruction ${site.insn}): ${detail}`);
  }
}

const SIZE_OF_BYTES: Readonly<Record<number, number>> = { 1: Size.B, 2: Size.H, 4: Size.W, 8: Size.DW };
const BYTES_OF_SIZE: Readonly<Record<number, number>> = { [Size.B]: 1, [Size.H]: 2, [Size.W]: 4, [Size.DW]: 8 };

/** The poison instruction libbpf writes: a call to helper 0xbad2310, which the verifier rejects if reached. */
function poison(insn: Instruction): Instruction {
  const { code: _c, imm2: _i2, ...rest } = insn;
  return { ...rest, code: Class.JMP | 0x80, dst: 0, src: 0, off: 0, imm: CORE_POISON_IMM };
}

/**
 * Applies `relos` to `insns` with values computed against `target`: ALU immediates, load/store
 * offsets (with the access size adjusted when the target field has another size) and lddw
 * constants. Returns new instructions (poisoned lddw become a call plus `ja +0`, keeping the
 * slot count) and one outcome per relocation. Throws CoreReloError naming the relocation on
 * malformed records or instructions that cannot take the value.
 */
export function applyCoreRelos(local: Btf, target: Btf, insns: readonly Instruction[], relos: readonly CoreReloSite[]): { instructions: Instruction[]; outcomes: CoreReloOutcome[] } {
  const out: (Instruction | Instruction[])[] = [...insns];
  const outcomes: CoreReloOutcome[] = [];
  for (const [n, site] of relos.entries()) {
    const fail = (msg: string): never => {
      throw new CoreReloError(n, site, msg);
    };
    const insn = insns[site.insn];
    if (!insn) fail('instruction index out of range');
    let res;
    try {
      res = computeCoreRelo(local, target, site.typeId, site.accessString, site.kind);
    } catch (e) {
      return fail((e as Error).message);
    }
    const cur = insn as Instruction;
    if (res.kind === 'poison') {
      out[site.insn] = cur.code === LDDW ? [poison(cur), { code: Class.JMP, dst: 0, src: 0, off: 0, imm: 0 }] : poison(cur);
      outcomes.push({ site, value: undefined, poisoned: res.reason });
      continue;
    }
    const cls = classOf(cur.code);
    const v = res.value;
    if (cur.code === LDDW) {
      out[site.insn] = { ...cur, ...splitImm64(v) };
    } else if (cls === Class.ALU || cls === Class.ALU64) {
      if ((cur.code & 0x08) !== 0) fail('ALU instruction with a register source cannot take a value');
      if (v > 0x7fffffffn || v < -0x80000000n) fail(`value ${v} does not fit a 32-bit immediate`);
      out[site.insn] = { ...cur, imm: Number(v) };
    } else if (cls === Class.LDX || cls === Class.ST || cls === Class.STX) {
      if (v > 0x7fffn || v < -0x8000n) fail(`offset ${v} does not fit 16 bits`);
      let code = cur.code;
      if (site.kind === 'BPF_CORE_FIELD_BYTE_OFFSET' && res.targetSize !== undefined && res.localSize !== undefined && res.targetSize !== res.localSize) {
        // The access size follows the field (libbpf: only when the instruction used the local size).
        const insnBytes = BYTES_OF_SIZE[sizeOf(code)];
        const newSize = SIZE_OF_BYTES[res.targetSize];
        if (insnBytes === res.localSize && newSize !== undefined) code = (code & ~0x18) | newSize;
      }
      out[site.insn] = { ...cur, code, off: Number(v) };
    } else {
      fail(`instruction class ${cls} cannot be relocated`);
    }
    outcomes.push({ site, value: v });
  }
  return { instructions: out.flat(), outcomes };
}
