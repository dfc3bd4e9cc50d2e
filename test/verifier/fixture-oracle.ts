// Kernel verdicts for the programs of real objects (test/fixtures, xdp-tools), one program at a time.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { BpfkitError } from '../../src/errors.js';
import { type Sys, VerifierError } from '../../src/kernel/index.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { expectedRejections, fixtureName, fixtureProgramTypes, fixturesDir, listFixtures, xdpToolsObjects } from '../support/fixtures.js';
import { type KernelVerdict, reasonOf } from './kernel-oracle.js';

/** One program of one object file. */
export interface ObjectProgram {
  /** `fixtures/xdp_stats.o:xdp_stats` — the golden key. */
  readonly key: string;
  readonly file: string;
  readonly spec: ObjectSpec;
  readonly program: string;
}

/** Directory of the verifier's own fixtures: C programs with classic mistakes (and one fixed). */
export const verifierFixturesDir = path.join(fixturesDir, 'verifier');

/** Absolute paths of test/fixtures/verifier/*.o. */
export function verifierFixtures(): string[] {
  return readdirSync(verifierFixturesDir).filter((f) => f.endsWith('.o')).sort().map((f) => path.join(verifierFixturesDir, f));
}

/**
 * Every program of every fixture, verifier fixture and xdp-tools object bpfkit can parse (the
 * big-endian fixture is left out).
 */
export function objectPrograms(): ObjectProgram[] {
  const out: ObjectProgram[] = [];
  for (const file of [...listFixtures(), ...verifierFixtures(), ...xdpToolsObjects()]) {
    if (expectedRejections[fixtureName(file)]?.kernel.startsWith('big-endian')) continue;
    // Sections libbpf cannot type load with the type the fixture was written for (bpftool's `type`).
    const programType = fixtureProgramTypes[fixtureName(file)];
    const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: fixtureName(file), ...(programType ? { programType } : {}) });
    const dir = file.startsWith(verifierFixturesDir) ? 'verifier-fixtures' : file.startsWith(fixturesDir) ? 'fixtures' : 'xdp-tools';
    for (const p of spec.programs) out.push({ key: `${dir}/${path.basename(file)}:${p.name}`, file, spec, program: p.name });
  }
  return out;
}

/** A kernel verdict with the statistics of the load. */
export interface ObjectVerdict extends KernelVerdict {
  readonly processedInsns?: number;
  readonly timeUsec?: number;
  /** Why the kernel could not be asked (not a verifier verdict). */
  readonly error?: string;
}

/**
 * Loads one program of an object with bpfkit's kernel loader (maps, global data, CO-RE) at
 * `logLevel` (4 = statistics only) and returns the verdict. Maps pinned by name go to a private
 * bpffs directory that is removed afterwards.
 */
export function objectProgramVerdict(sys: Sys, op: ObjectProgram, logLevel = 1): ObjectVerdict {
  const pinPath = `/sys/fs/bpf/bpfkit-vcorpus-${process.pid}`;
  mkdirSync(pinPath, { recursive: true });
  try {
    using obj = loadKernelObject(sys, op.spec, { programs: [op.program], logLevel, pinPath });
    const log = obj.program(op.program).fd.verifierLog;
    return { verdict: 'accept', ...stats(log) };
  } catch (err) {
    if (err instanceof VerifierError && err.op.includes('PROG_LOAD')) return { verdict: 'reject', ...reasonOf(err.log), ...stats(err.log) };
    if (err instanceof BpfkitError) return { verdict: 'reject', error: err.message };
    throw err;
  } finally {
    rmSync(pinPath, { recursive: true, force: true });
  }
}

function stats(log: string): { processedInsns?: number; timeUsec?: number } {
  const p = /processed (\d+) insns/.exec(log);
  const t = /verification time (\d+) usec/.exec(log);
  return { ...(p ? { processedInsns: Number(p[1]) } : {}), ...(t ? { timeUsec: Number(t[1]) } : {}) };
}
