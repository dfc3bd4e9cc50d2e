// Sample instructions for every opcode-table entry, built through the builder path named by the entry.
import * as builder from '../../src/isa/builder.js';
import type { Instruction, Reg } from '../../src/isa/instruction.js';
import type { OpcodeEntry } from '../../src/isa/opcodes.js';

/** Operand values for one sample: registers, a memory/jump offset, an immediate. */
interface Values {
  dst: Reg;
  src: Reg;
  off: number;
  imm: number;
  imm64: bigint;
}

/** Two sets of operands per entry: small positive values, then negative / large ones. */
export const VALUE_SETS: readonly Values[] = [
  { dst: 1, src: 2, off: 4, imm: 22, imm64: 0x1122334455667788n },
  { dst: 10, src: 0, off: -8, imm: -5, imm64: -2n },
  { dst: 0, src: 9, off: 0, imm: 0x7fffffff, imm64: 0n },
];

type Fn = (...args: unknown[]) => Instruction;

/** The builder function at an entry's name (`alu64.add.imm` -> builder.alu64.add.imm). */
export function builderFor(e: OpcodeEntry): Fn {
  let at: unknown = builder;
  for (const part of e.name.split('.')) {
    at = (at as Record<string, unknown>)[part];
    if (at === undefined) throw new Error(`no builder at ${e.name}`);
  }
  if (typeof at !== 'function') throw new Error(`builder at ${e.name} is not a function`);
  return at as Fn;
}

/** Builds a sample of an entry with the given operand values, through its builder. */
export function sample(e: OpcodeEntry, v: Values): Instruction {
  const b = builderFor(e);
  const reg = e.fields.src === 'reg';
  switch (e.kind) {
    case 'alu':
      return reg ? b(v.dst, v.src) : b(v.dst, v.imm);
    case 'neg':
    case 'end':
    case 'bswap':
      return b(v.dst);
    case 'movsx':
      return b(v.dst, v.src);
    case 'addr_space_cast':
      return v.imm < 0 ? b(v.dst, v.src, 0, 1) : b(v.dst, v.src, 1, 0);
    case 'jmp':
      return reg ? b(v.dst, v.src, v.off) : b(v.dst, v.imm, v.off);
    case 'ja':
    case 'may_goto':
      return b(v.off);
    case 'gotol':
      return b(v.imm);
    case 'call':
      if (e.op === 'helper') return b(v.imm > 0 && v.imm < 200 ? v.imm : 1);
      if (e.op === 'func') return b(v.imm);
      return b(v.imm & 0xffff, undefined, Math.abs(v.off));
    case 'exit':
      return b();
    case 'lddw':
      switch (e.op) {
        case 'imm64':
          return b(v.dst, v.imm64);
        case 'map_value':
        case 'map_idx_value':
          return b(v.dst, Math.abs(v.imm), Math.abs(v.off));
        default:
          return b(v.dst, Math.abs(v.imm));
      }
    case 'ldabs':
      return b(v.imm);
    case 'ldind':
      return b(v.src, v.imm);
    case 'ldx':
    case 'ldxsx':
      return b(v.dst, v.src, v.off);
    case 'st':
      return b(v.dst, v.off, v.imm);
    case 'stx':
      return b(v.dst, v.off, v.src);
    case 'atomic':
      return e.op === 'load_acq' ? b(v.dst, v.src, v.off) : b(v.dst, v.off, v.src);
  }
}

/** Every sample of an entry. */
export function samples(e: OpcodeEntry): Instruction[] {
  return VALUE_SETS.map((v) => sample(e, v));
}
