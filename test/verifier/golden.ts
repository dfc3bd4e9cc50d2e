// The committed kernel verdicts of the corpus (test/verifier/corpus/kernel-verdicts.json).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelVerdict } from './kernel-oracle.js';

/** Path of the golden file. */
export const GOLDEN_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'corpus', 'kernel-verdicts.json');

/** The golden file: which kernel answered, and its verdict per corpus program name. */
export interface Golden {
  readonly kernel: string;
  readonly programs: Readonly<Record<string, KernelVerdict>>;
}

/** Reads the golden verdicts. */
export function readGolden(): Golden {
  return JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Golden;
}

/** Writes golden verdicts, one program per line so diffs stay reviewable. */
export function writeGolden(g: Golden): void {
  const names = Object.keys(g.programs).sort();
  const body = names.map((n) => `    ${JSON.stringify(n)}: ${JSON.stringify(g.programs[n])}`).join(',\n');
  writeFileSync(GOLDEN_PATH, `{\n  "kernel": ${JSON.stringify(g.kernel)},\n  "programs": {\n${body}\n  }\n}\n`);
}

/** Whether golden files should be rewritten (BPFKIT_UPDATE_GOLDEN=1). */
export const updateGolden = process.env['BPFKIT_UPDATE_GOLDEN'] === '1';
