// The committed kernel verdicts: corpus programs (corpus/kernel-verdicts.json) and the programs
// of real objects (corpus/fixture-verdicts.json). BPFKIT_UPDATE_GOLDEN=1 rewrites them.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelVerdict } from './kernel-oracle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Golden verdicts of the corpus programs. */
export const CORPUS_GOLDEN = path.join(here, 'corpus', 'kernel-verdicts.json');
/** Golden verdicts of fixture and xdp-tools programs. */
export const FIXTURE_GOLDEN = path.join(here, 'corpus', 'fixture-verdicts.json');

/** A golden verdict; fixtures also record the kernel's processed instruction count. */
export interface GoldenVerdict extends KernelVerdict {
  readonly processedInsns?: number;
  /** Why the kernel could not be asked (e.g. an fentry target missing): not comparable. */
  readonly error?: string;
}

/** A golden file: which kernel answered, and its verdict per program key. */
export interface Golden {
  readonly kernel: string;
  readonly programs: Readonly<Record<string, GoldenVerdict>>;
}

/** Reads a golden file. */
export function readGolden(file = CORPUS_GOLDEN): Golden {
  return JSON.parse(readFileSync(file, 'utf8')) as Golden;
}

/** Writes a golden file, one program per line so diffs stay reviewable. */
export function writeGolden(file: string, g: Golden): void {
  const names = Object.keys(g.programs).sort();
  const body = names.map((n) => `    ${JSON.stringify(n)}: ${JSON.stringify(g.programs[n])}`).join(',\n');
  writeFileSync(file, `{\n  "kernel": ${JSON.stringify(g.kernel)},\n  "programs": {\n${body}\n  }\n}\n`);
}

/** Whether golden files should be rewritten (BPFKIT_UPDATE_GOLDEN=1). */
export const updateGolden = process.env['BPFKIT_UPDATE_GOLDEN'] === '1';
