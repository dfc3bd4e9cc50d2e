// Random programs aimed at the verifier's number tracking (tnum and 64/32-bit bounds — the CVE
// class): two unknown scalars from a map value go through random ALU ops and random exits on
// comparisons, then one is added to a pointer (map value or stack) and dereferenced. If the
// verifier accepts a program whose offset can really leave the object, the interpreter faults.
import { type Instruction, alu32, alu64, jmp, jmp32, label, ldx, program, st, type Reg } from '../../src/isa/index.js';
import { BpfProgType } from '../../src/isa/uapi.generated.js';
import { iterationSeed, prng, type Rng } from '../support/mutate.js';
import { lookup } from './corpus/index.js';

const EDGES = [0, 1, 2, 3, 7, 8, 15, 16, 31, 32, 40, 47, 48, 63, 64, 255, 256, 0x7fff, 0xffff, 0x7fffffff, -0x80000000, -1, -2, -8, -48, -64];
const ALU = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'lsh', 'rsh', 'arsh', 'mov', 'div', 'mod'] as const;
const JUMPS = ['jeq', 'jne', 'jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jset'] as const;

function aluStep(r: Rng, dst: Reg, other: Reg): Instruction {
  const op = r.pick(ALU);
  const w32 = r.chance(0.35);
  const fam = w32 ? alu32 : alu64;
  const width = w32 ? 32 : 64;
  if (op === 'lsh' || op === 'rsh' || op === 'arsh') return r.chance(0.8) ? fam[op].imm(dst, r.int(width)) : fam[op].reg(dst, other);
  if (op === 'div' || op === 'mod') return fam[op].imm(dst, r.pick([1, 2, 3, 7, 8, 16, 48, 64, 1000]));
  if (op === 'mov' && r.chance(0.5)) return r.pick([alu64.movsx8, alu64.movsx16, alu64.movsx32, alu32.movsx8, alu32.movsx16])(dst, other);
  return r.chance(0.6) ? fam[op].imm(dst, r.pick(EDGES)) : fam[op].reg(dst, other);
}

function jumpStep(r: Rng, a: Reg, b: Reg): Instruction {
  const f = r.chance(0.4) ? jmp32 : jmp;
  const op = r.pick(JUMPS);
  return r.chance(0.7) ? f[op].imm(a, r.pick(EDGES), 'out') : f[op].reg(a, b, 'out');
}

/** Random program number `index` of `seed`: XDP, using the corpus `array` map (48-byte values). */
export function randomBoundsProgram(seed: number, index: number): { name: string; type: number; insns: Instruction[] } {
  const r = prng(iterationSeed(seed ^ 0x5eed, index));
  const onStack = r.chance(0.25);
  const body: Instruction[] = [];
  const steps = 1 + r.int(8);
  for (let i = 0; i < steps; i++) {
    const [a, b] = r.chance(0.7) ? ([8, 9] as const) : ([9, 8] as const);
    body.push(r.chance(0.55) ? aluStep(r, a, b) : jumpStep(r, a, b));
  }
  const size = r.pick(['b', 'h', 'w', 'dw'] as const);
  const off = r.pick([0, 0, 0, 8, 40, -8, 47]);
  const base: Instruction[] = onStack
    ? [...Array.from({ length: 8 }, (_, i) => st.dw(10, -64 + 8 * i, 0)), alu64.mov.reg(7, 10), alu64.add.imm(7, -64)]
    : [];
  const insns = program(
    ...lookup('array'),
    jmp.jeq.imm(0, 0, 'out'),
    ldx.dw(8, 0, 0),
    ldx.dw(9, 0, 8),
    onStack ? [] : [alu64.mov.reg(7, 0)],
    base,
    body,
    alu64.add.reg(7, 8),
    ldx[size](1, 7, off),
    label('out'),
    alu64.mov.imm(0, 0),
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  );
  return { name: `bounds ${seed}:${index} (${onStack ? 'stack' : 'map value'}, ${steps} steps, ${size} at +${off})`, type: BpfProgType.XDP, insns };
}

/**
 * The packet flavour: 64 bytes checked against data_end, two unknown scalars loaded from the
 * packet, random ALU ops and exits, then `data + r8` is dereferenced — with or without a second
 * data_end check of the moved pointer (the packet range the verifier learns from comparisons).
 */
export function randomPacketBoundsProgram(seed: number, index: number): { name: string; type: number; insns: Instruction[] } {
  const r = prng(iterationSeed(seed ^ 0x9a7, index));
  const body: Instruction[] = [];
  const steps = 1 + r.int(6);
  for (let i = 0; i < steps; i++) {
    const [a, b] = r.chance(0.7) ? ([8, 9] as const) : ([9, 8] as const);
    body.push(r.chance(0.55) ? aluStep(r, a, b) : jumpStep(r, a, b));
  }
  const size = r.pick(['b', 'h', 'w', 'dw'] as const);
  const off = r.pick([0, 0, 8, 56, 63, -1]);
  const recheck = r.chance(0.5);
  const room = r.pick([1, 8, 16]);
  const tc = r.chance(0.3);
  const insns = program(
    tc ? [ldx.w(2, 1, 76), ldx.w(3, 1, 80)] : [ldx.w(2, 1, 0), ldx.w(3, 1, 4)],
    alu64.mov.reg(4, 2),
    alu64.add.imm(4, 64),
    jmp.jgt.reg(4, 3, 'out'),
    ldx.dw(8, 2, 0),
    ldx.dw(9, 2, 8),
    alu64.mov.reg(7, 2),
    body,
    alu64.add.reg(7, 8),
    recheck ? [alu64.mov.reg(4, 7), alu64.add.imm(4, room), jmp.jgt.reg(4, 3, 'out')] : [],
    ldx[size](1, 7, off),
    label('out'),
    alu64.mov.imm(0, 0),
    { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 },
  );
  return {
    name: `packet bounds ${seed}:${index} (${tc ? 'tc' : 'xdp'}, ${steps} steps, ${recheck ? `rechecked +${room}` : 'no recheck'}, ${size} at +${off})`,
    type: tc ? BpfProgType.SCHED_CLS : BpfProgType.XDP,
    insns,
  };
}
