// Test helpers for the packet module: a temp dir and a tcpdump runner (the oracle).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether tcpdump can be run; tests that need it skip with this reason otherwise. */
export const TCPDUMP_MISSING: string | false = spawnSync('tcpdump', ['--version']).status === 0 ? false : 'tcpdump is not installed (apt-get install -y tcpdump)';

/** Runs tcpdump with args, returning stdout lines; throws with stderr on failure. */
export function tcpdump(args: string[]): string[] {
  const r = spawnSync('tcpdump', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`tcpdump ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** Makes a temp dir and returns [path, cleanup]. */
export function tempDir(): [string, () => void] {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-packet-'));
  return [dir, () => rmSync(dir, { recursive: true, force: true })];
}

/** Deterministic PRNG (mulberry32) for property and fuzz tests. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
