// The soundness fuzz loop shared by the bounded test and scripts/verifier-fuzz.ts: mutate corpus
// programs, verify each with bpfkit, run every accepted one in the checked interpreter.
import { verifyInstructions } from '../../src/verifier/verify.js';
import { CORPUS_MAPS, type CorpusProgram, corpus } from './corpus/index.js';
import { mutant } from './mutate-program.js';
import { randomBoundsProgram, randomPacketBoundsProgram } from './random-bounds.js';
import { objectPrograms, type ObjectProgram } from './fixture-oracle.js';
import { FIXTURE_GOLDEN, readGolden } from './golden.js';
import { mutateInstructions } from './mutate-program.js';
import { listing, runAccepted, runInObject } from './soundness.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { iterationSeed, prng } from '../support/mutate.js';

/** Options of a fuzz run. */
export interface FuzzOptions {
  readonly seed: number;
  /** Programs to generate at most. */
  readonly count: number;
  /** Stop after this many milliseconds (default: no limit). */
  readonly timeLimitMs?: number;
  /** Packets per accepted program. */
  readonly runs?: number;
  /** Called for each fault (the report: the mutant's name and listing). */
  readonly onFault?: (report: string) => void;
  /** Called every `progressEvery` programs. */
  readonly onProgress?: (stats: FuzzStats) => void;
  readonly progressEvery?: number;
}

/** Counts of a fuzz run. */
export interface FuzzStats {
  generated: number;
  accepted: number;
  rejected: number;
  ran: number;
  notRunnable: number;
  budget: number;
  runtimeErrors: number;
  crashes: number;
  faults: string[];
  ms: number;
}

/** Base programs: the corpus without its deliberately expensive loops. */
export function fuzzBase(): CorpusProgram[] {
  return corpus().filter((p) => !p.name.startsWith('loop/') && !p.name.startsWith('cfg/long'));
}

/** Small compiled programs the kernel accepts: bases for object mutants. */
export function objectBases(): ObjectProgram[] {
  const golden = readGolden(FIXTURE_GOLDEN);
  return objectPrograms().filter((op) => {
    const g = golden.programs[op.key];
    return g?.verdict === 'accept' && (g.processedInsns ?? Infinity) < 1000 && !op.key.includes('core_kfunc');
  });
}

/** One object mutant: verify it with bpfkit and, when accepted, run it in its own object. */
function objectMutantStep(bases: readonly ObjectProgram[], seed: number, i: number, s: FuzzStats, o: FuzzOptions): void {
  const r = prng(iterationSeed(seed ^ 0x0b1, i));
  const op = r.pick(bases);
  const prog = op.spec.programs.find((p) => p.name === op.program)!;
  const m = mutateInstructions(r, prog.instructions, 20, false);
  if (!m) return;
  s.generated++;
  const mutated = { ...prog, instructions: m.insns };
  const spec = { ...op.spec, programs: op.spec.programs.map((p) => (p.name === op.program ? mutated : p)) };
  const name = `object mutant ${seed}:${i} of ${op.key} (${m.what.join(', ')})`;
  let verdict: 'accept' | 'reject';
  try {
    verdict = verifyProgram(mutated, spec).verdict;
  } catch (err) {
    s.crashes++;
    const report = `VERIFIER CRASH on ${name}: ${(err as Error).message}\n${listing(m.insns)}`;
    s.faults.push(report);
    o.onFault?.(report);
    return;
  }
  if (verdict === 'reject') {
    s.rejected++;
    return;
  }
  s.accepted++;
  const out = runInObject(spec, op.program, i ^ seed, o.runs ?? 6);
  if (out.kind === 'not-runnable') s.notRunnable++;
  else s.ran++;
  if (out.kind === 'budget') s.budget++;
  if (out.kind === 'runtime-error') s.runtimeErrors++;
  if (out.kind === 'fault') {
    const report = `MEMORY FAULT (verifier bug) in ${name}: ${out.detail}\n${listing(m.insns)}`;
    s.faults.push(report);
    o.onFault?.(report);
  }
}

/** Runs the fuzz loop; never throws for a program (a verifier crash is counted and reported as a fault). */
export function fuzzVerifier(o: FuzzOptions): FuzzStats {
  const base = fuzzBase();
  const bases = objectBases();
  const s: FuzzStats = { generated: 0, accepted: 0, rejected: 0, ran: 0, notRunnable: 0, budget: 0, runtimeErrors: 0, crashes: 0, faults: [], ms: 0 };
  const t0 = performance.now();
  for (let i = 0; i < o.count; i++) {
    if (o.timeLimitMs !== undefined && performance.now() - t0 > o.timeLimitMs) break;
    // Every tenth program: a mutant of a compiled fixture program, run in its own object.
    if (i % 10 === 5) {
      objectMutantStep(bases, o.seed, i, s, o);
      continue;
    }
    // Even programs: mutated corpus programs; odd: random number-tracking programs (map value or
    // stack offsets, and every third one packet offsets).
    const m = i % 2 === 0 ? mutant(base, o.seed, i) : i % 3 === 0 ? randomPacketBoundsProgram(o.seed, i) : randomBoundsProgram(o.seed, i);
    if (!m) continue;
    s.generated++;
    let verdict: 'accept' | 'reject';
    try {
      verdict = verifyInstructions(m.insns, { programType: m.type, maps: CORPUS_MAPS, privileged: true }).verdict;
    } catch (err) {
      s.crashes++;
      const report = `VERIFIER CRASH on ${m.name}: ${(err as Error).message}\n${listing(m.insns)}`;
      s.faults.push(report);
      o.onFault?.(report);
      continue;
    }
    if (verdict === 'reject') {
      s.rejected++;
    } else {
      s.accepted++;
      const r = runAccepted(m.type, m.insns, CORPUS_MAPS, i ^ o.seed, o.runs ?? 6);
      if (r.kind === 'not-runnable') s.notRunnable++;
      else s.ran++;
      if (r.kind === 'budget') s.budget++;
      if (r.kind === 'runtime-error') s.runtimeErrors++;
      if (r.kind === 'fault') {
        const report = `MEMORY FAULT (verifier bug) in ${m.name}: ${r.detail}\n${listing(m.insns)}`;
        s.faults.push(report);
        o.onFault?.(report);
      }
    }
    if (o.onProgress && o.progressEvery && s.generated % o.progressEvery === 0) o.onProgress({ ...s, ms: performance.now() - t0 });
  }
  s.ms = performance.now() - t0;
  return s;
}
