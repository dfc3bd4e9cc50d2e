// Bad input: programs of any size or shape — random encodings, huge, deeply branching,
// pathological loops, empty — end in a verdict (never a throw or a hang) within bounded time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Instruction, OPCODES, alu64, call, exit, jmp, label, ld, program, st } from '../../src/isa/index.js';
import { BpfProgType } from '../../src/isa/uapi.generated.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/verify.js';
import { iterationSeed, prng, type Rng } from '../support/mutate.js';
import { CORPUS_MAPS } from './corpus/index.js';

const XDP = BpfProgType.XDP;
const EDGES = [0, 1, -1, 2, 4, 8, 14, 16, 31, 32, 63, 64, 255, 511, 512, 0x7fffffff, -0x80000000];

/** A random instruction that the opcode table accepts: every kind, operands anywhere in range. */
export function randomInstruction(r: Rng): Instruction {
  const e = r.pick(OPCODES);
  const reg = () => (r.chance(0.9) ? r.int(11) : r.int(16));
  const dst = e.fields.dst === 'reg' ? reg() : 0;
  const src = e.fields.src === 'pseudo' ? e.src! : e.fields.src === 'reg' ? reg() : 0;
  const off = e.fields.off === 'fixed' ? e.off! : e.fields.off === 'zero' ? 0 : r.chance(0.7) ? r.int(24) - 4 : r.pick(EDGES) & 0x7fff;
  const imm = e.fields.imm === 'fixed' ? e.imm! : e.fields.imm === 'zero' ? 0 : r.chance(0.5) ? r.int(40) - 8 : r.pick(EDGES);
  const insn: Instruction = { code: e.code, dst, src, off, imm };
  return e.kind === 'lddw' ? { ...insn, imm2: r.chance(0.5) ? 0 : r.pick(EDGES) } : insn;
}

function timed(name: string, insns: readonly Instruction[], limitMs: number, options: Parameters<typeof verifyInstructions>[1] = {}): VerifyResult {
  const t0 = performance.now();
  let r: VerifyResult;
  try {
    r = verifyInstructions(insns, { programType: XDP, maps: CORPUS_MAPS, ...options });
  } catch (err) {
    assert.fail(`${name}: the verifier threw instead of giving a verdict: ${(err as Error).stack}`);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < limitMs, `${name}: ${ms.toFixed(0)} ms, over the ${limitMs} ms bound`);
  assert.ok(r.verdict === 'accept' || r.verdict === 'reject');
  return r;
}

test('random encodings of every opcode end in a verdict', () => {
  let rejected = 0;
  for (let i = 0; i < 400; i++) {
    const r = prng(iterationSeed(66, i));
    const body = Array.from({ length: 1 + r.int(48) }, () => randomInstruction(r));
    const res = timed(`random program ${i}`, [...body, alu64.mov.imm(0, 0), exit()], 2000);
    if (res.verdict === 'reject') rejected++;
  }
  assert.ok(rejected > 300, `random programs are mostly unsafe; only ${rejected} of 400 rejected`);
});

test('an empty program and a lone lddw are rejected, not thrown', () => {
  assert.equal(timed('empty', [], 1000).verdict, 'reject');
  assert.equal(timed('lone lddw', [{ code: 0x18, dst: 0, src: 0, off: 0, imm: 0, imm2: 0 }], 1000).verdict, 'reject');
});

test('a 100,000-instruction straight line ends in a verdict', () => {
  const insns = [alu64.mov.imm(0, 0), ...Array.from({ length: 100_000 }, (_, i) => alu64.add.imm(0, i & 7)), exit()];
  const r = timed('straight line', insns, 15_000);
  assert.equal(r.verdict, 'accept', r.message);
});

test('200 nested diamonds on an unknown value (2^200 paths) end in a verdict', () => {
  const items = [alu64.mov.reg(6, 1), call.helper('get_prandom_u32'), alu64.mov.reg(1, 0), alu64.mov.imm(2, 0)];
  for (let i = 0; i < 200; i++) items.push(jmp.jgt.imm(1, i * 7, `d${i}`), alu64.add.imm(2, 1), { ...alu64.add.imm(2, 0), symbol: `d${i}` });
  timed('diamonds', program(items, alu64.mov.imm(0, 0), exit()), 15_000);
});

test('a loop bounded by an unknown value is "too complex", within the processed-insn limit', () => {
  const insns = program(call.helper('get_prandom_u32'), alu64.mov.reg(1, 0), label('top'), alu64.add.imm(1, -1), jmp.jne.imm(1, 0, 'top'), alu64.mov.imm(0, 0), exit());
  const r = timed('unbounded loop', insns, 15_000, { maxProcessedInsns: 100_000 });
  assert.equal(r.verdict, 'reject');
  assert.ok(r.processedInsns <= 100_001, `processed ${r.processedInsns}`);
});

test('pointers moved by huge constants end in a verdict quickly (found by the fuzz: 10 s in precision tracking)', () => {
  for (const imm of [-0x80000000, 0x7fffffff, -513, 1 << 20]) {
    const insns = program(st.dw(10, -8, 0), alu64.mov.reg(2, 10), alu64.add.imm(2, imm), ld.map_fd(1, 'array'), call.helper('map_lookup_elem'), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(6, 0), alu64.add.reg(6, 10), label('out'), alu64.mov.imm(0, 0), exit());
    assert.equal(timed(`r2 = r10 + ${imm}`, insns, 2000).verdict, 'reject');
  }
});
