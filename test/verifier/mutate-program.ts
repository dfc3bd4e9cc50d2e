// Seeded mutations of corpus programs: flip a jump condition, change an offset, size or
// immediate, drop an instruction (a check), swap registers. Every mutant is a pure function of
// (seed, index), so a disagreement or a fault is reproduced from two numbers.
import { type Instruction, encode, entryOf, isLdImm64 } from '../../src/isa/index.js';
import { iterationSeed, prng, type Rng } from '../support/mutate.js';
import type { CorpusProgram } from './corpus/index.js';

const CLASS_MASK = 0x07;
const JMP = 0x05, JMP32 = 0x06, ALU = 0x04, ALU64 = 0x07, LDX = 0x01, ST = 0x02, STX = 0x03;
// Conditional jump op nibbles (high 4 bits) and their negations.
const NEGATE: Record<number, number> = { 0x10: 0x50, 0x50: 0x10, 0x20: 0xb0, 0xb0: 0x20, 0x30: 0xa0, 0xa0: 0x30, 0x60: 0xd0, 0xd0: 0x60, 0x70: 0xc0, 0xc0: 0x70 };
const JUMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const SIZES = [0x00, 0x08, 0x10, 0x18]; // w, h, b, dw
const IMM_EDGES = [0, 1, -1, 2, 7, 8, 13, 14, 15, 16, 31, 32, 40, 47, 48, 63, 64, 255, 0x7fffffff, -0x80000000];

/** A mutant and how it was made. */
export interface Mutant {
  readonly name: string;
  readonly base: CorpusProgram;
  readonly insns: Instruction[];
  readonly type: number;
}

function mutateOnce(r: Rng, insns: Instruction[], allowDrop: boolean): string | undefined {
  const i = r.int(insns.length);
  const x = insns[i]!;
  const cls = x.code & CLASS_MASK;
  const op = x.code & 0xf0;
  const set = (patch: Partial<Instruction>, what: string): string => {
    insns[i] = { ...x, ...patch };
    return `${what} @${i}`;
  };
  switch (r.int(7)) {
    case 0: // flip or change a jump condition
      if ((cls === JMP || cls === JMP32) && JUMP_OPS.includes(op)) {
        const to = r.chance(0.5) && NEGATE[op] !== undefined ? NEGATE[op]! : r.pick(JUMP_OPS);
        return set({ code: (x.code & 0x0f) | to }, `jump 0x${op.toString(16)}->0x${to.toString(16)}`);
      }
      if (cls === JMP && r.chance(0.3) && (x.code & 0x08) === 0 && JUMP_OPS.includes(op)) return set({ code: (x.code & ~CLASS_MASK) | JMP32 }, 'jmp->jmp32');
      return undefined;
    case 1: // memory offset
      if (cls === LDX || cls === ST || cls === STX) return set({ off: x.off + r.pick([-8, -4, -2, -1, 1, 2, 4, 8]) }, `off ${x.off}`);
      return undefined;
    case 2: // memory size
      if ((cls === LDX || cls === ST || cls === STX) && (x.code & 0xe0) === 0x60) return set({ code: (x.code & ~0x18) | r.pick(SIZES) }, 'size');
      return undefined;
    case 3: // immediate
      if ((cls === ALU || cls === ALU64 || cls === JMP || cls === JMP32 || cls === ST) && (x.code & 0x08) === 0 && x.code !== 0x85 && x.code !== 0x95 && x.code !== 0x05)
        return set({ imm: r.chance(0.5) ? r.pick(IMM_EDGES) : (x.imm + r.pick([-1, 1, -8, 8])) | 0 }, `imm ${x.imm}`);
      return undefined;
    case 4: {
      // drop an instruction (a check, a store, an init) that no label names
      if (!allowDrop || x.symbol !== undefined || insns.length < 3) return undefined;
      insns.splice(i, 1);
      return `drop @${i}`;
    }
    case 5: // swap registers
      if ((cls === ALU || cls === ALU64 || cls === LDX || cls === STX) && !isLdImm64(x)) return set({ dst: x.src, src: x.dst }, 'swap regs');
      return undefined;
    default: // another register
      if ((cls === ALU || cls === ALU64 || cls === LDX || cls === STX || cls === JMP) && x.code !== 0x85 && x.code !== 0x95 && x.code !== 0x05) {
        return r.chance(0.5) ? set({ dst: r.int(10) }, 'dst') : set({ src: r.int(11) }, 'src');
      }
      return undefined;
  }
}

/**
 * 1-3 mutations of `insns` drawn from `r`, such that the result still encodes (the kernel would
 * otherwise refuse the bytes before verifying); undefined when `attempts` tries found none.
 * `allowDrop` false keeps the instruction count (BTF line and func info stay valid).
 */
export function mutateInstructions(r: Rng, source: readonly Instruction[], attempts = 20, allowDrop = true): { insns: Instruction[]; what: string[] } | undefined {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const insns = [...source];
    const what: string[] = [];
    const n = 1 + r.int(3);
    for (let k = 0; k < n * 4 && what.length < n; k++) {
      const w = mutateOnce(r, insns, allowDrop);
      if (w) what.push(w);
    }
    if (what.length === 0) continue;
    try {
      encode(insns.map((x) => (x.code === 0x18 && x.reference !== undefined && x.src !== 0 ? { ...x, reference: undefined, imm: 3 } : x)));
    } catch {
      continue;
    }
    if (insns.some((x) => entryOf(x) === undefined)) continue;
    return { insns, what };
  }
  return undefined;
}

/** Mutant number `index` of `seed`: a corpus program with 1-3 mutations that still encodes. */
export function mutant(programs: readonly CorpusProgram[], seed: number, index: number): Mutant | undefined {
  const r = prng(iterationSeed(seed, index));
  for (let attempt = 0; attempt < 20; attempt++) {
    const base = r.pick(programs);
    const m = mutateInstructions(r, base.insns, 1);
    if (!m) continue;
    return { name: `mutant ${seed}:${index} of ${base.name} (${m.what.join(', ')})`, base, insns: m.insns, type: base.type };
  }
  return undefined;
}
