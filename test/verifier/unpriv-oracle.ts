// The kernel as the unprivileged verifier oracle: as root, briefly allow unprivileged bpf(2)
// (kernel.unprivileged_bpf_disabled 2 -> 0, always restored) and load a batch of programs from one
// child process running as nobody (setpriv), which creates the maps it needs itself.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Instruction } from '../../src/isa/index.js';
import type { MapDef } from '../../src/maps/map-ops.js';
import type { KernelVerdict } from './kernel-oracle.js';

const SYSCTL = '/proc/sys/kernel/unprivileged_bpf_disabled';
const CHILD = fileURLToPath(new URL('./unpriv-child.ts', import.meta.url));
/** The user the programs are loaded as (nobody). */
export const UNPRIV_UID = 65534;

/** One program for the oracle. */
export interface UnprivProgram {
  readonly name: string;
  readonly type: number;
  readonly insns: readonly Instruction[];
}

/** The kernel's verdict as an unprivileged user, or why it could not be asked (`error`). */
export interface UnprivVerdict extends KernelVerdict {
  readonly name: string;
  readonly error?: string;
}

/** The verdicts, or the reason the oracle cannot run here (the test then skips). */
export type UnprivAnswer = { readonly verdicts: ReadonlyMap<string, UnprivVerdict> } | { readonly skip: string };

/**
 * Loads every program as uid/gid 65534 with no capabilities and returns the kernel's verdicts.
 * Needs root (to change the sysctl and drop privileges) and the sysctl at 0 or 2 (1 is one-way).
 */
export function unprivilegedVerdicts(programs: readonly UnprivProgram[], maps: ReadonlyMap<string, MapDef>): UnprivAnswer {
  if (process.getuid?.() !== 0) return { skip: 'not root: cannot change kernel.unprivileged_bpf_disabled or drop to nobody' };
  let previous: string;
  try {
    previous = readFileSync(SYSCTL, 'utf8').trim();
  } catch (err) {
    return { skip: `cannot read ${SYSCTL}: ${(err as Error).message}` };
  }
  if (previous === '1') return { skip: `${SYSCTL} is 1 (unprivileged bpf disabled until reboot)` };
  try {
    try {
      if (previous !== '0') writeFileSync(SYSCTL, '0');
    } catch (err) {
      return { skip: `cannot write ${SYSCTL}: ${(err as Error).message}` };
    }
    const input = JSON.stringify({ maps: [...maps.values()], programs });
    const r = spawnSync('setpriv', [`--reuid=${UNPRIV_UID}`, `--regid=${UNPRIV_UID}`, '--clear-groups', '--inh-caps=-all', process.execPath, '--import', 'tsx', CHILD], {
      input,
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      timeout: 120_000,
    });
    if (r.error) return { skip: `cannot run setpriv: ${r.error.message}` };
    if (r.status !== 0) throw new Error(`unprivileged oracle child failed (${r.status}): ${r.stderr}`);
    const answer = JSON.parse(r.stdout) as { uid: number; results: UnprivVerdict[] };
    if (answer.uid !== UNPRIV_UID) throw new Error(`unprivileged oracle child ran as uid ${answer.uid}`);
    return { verdicts: new Map(answer.results.map((v) => [v.name, v])) };
  } finally {
    if (previous !== '0') writeFileSync(SYSCTL, previous);
  }
}
