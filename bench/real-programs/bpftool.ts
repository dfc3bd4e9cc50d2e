// The reference loader of the real-programs harness: `bpftool prog loadall OBJ DIR [type T]`,
// its prog tags, which program the kernel refused, and pins that are always removed.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

/** What bpftool's load of one object gave. */
export interface BpftoolLoad {
  /** True when every program of the object loaded. */
  readonly ok: boolean;
  /** Program name -> prog tag (hex), for each program bpftool pinned. */
  readonly tags: ReadonlyMap<string, string>;
  /** Program name -> pinned path (valid until {@link BpftoolLoad.release}). */
  readonly pins: ReadonlyMap<string, string>;
  /** Map name -> pinned path, when bpftool could pin the maps (`pinmaps`). */
  readonly mapPins: ReadonlyMap<string, string>;
  /** Programs libbpf reported as refused by the kernel's verifier (`prog 'X': BPF program load failed`). */
  readonly refused: ReadonlySet<string>;
  /** bpftool/libbpf's last lines when the load failed. */
  readonly error: string | undefined;
  /** Removes every pin this load made (idempotent). */
  release(): void;
}

/** Whether bpftool runs here; the reason when it does not. */
export function bpftoolMissing(): string | undefined {
  try {
    execFileSync('bpftool', ['version'], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `bpftool not usable: ${(e as Error).message}`;
  }
}

/** The last meaningful lines of libbpf's output (its warnings before the error). */
function lastLines(log: string, n: number): string {
  const lines = log
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('Warning') && !l.startsWith('If it used') && !/^\d+: /.test(l) && !l.startsWith(';'));
  return lines.slice(-n).join(' | ');
}

/** Program names libbpf says the kernel refused. */
export function refusedPrograms(log: string): Set<string> {
  const out = new Set<string>();
  for (const m of log.matchAll(/prog '([^']+)': (?:BPF program load failed|failed to load)/g)) if (m[1]) out.add(m[1]);
  return out;
}

let counter = 0;

/**
 * Loads `file` with `bpftool prog loadall` (with `type T` when given) under `root` (a bpffs
 * directory), reads each pinned program's tag with `bpftool prog show pinned`, and returns them
 * with the pins still in place (for test runs); `release()` removes them. Maps libbpf pins by name
 * under /sys/fs/bpf (`byNamePins`) are removed too when this load created them. Never throws for
 * a load failure: `ok` is false and `error` says why.
 */
export function bpftoolLoadAll(file: string, root: string, type: string | undefined, byNamePins: readonly string[]): BpftoolLoad {
  const dir = path.join(root, `o${process.pid.toString(36)}_${(counter++).toString(36)}`);
  const progDir = path.join(dir, 'progs');
  const mapDir = path.join(dir, 'maps');
  const preexisting = new Set(byNamePins.filter((p) => existsSync(p)));
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    rmSync(dir, { recursive: true, force: true });
    for (const p of byNamePins) if (!preexisting.has(p)) rmSync(p, { force: true });
  };
  mkdirSync(dir, { recursive: true });
  const tags = new Map<string, string>();
  const pins = new Map<string, string>();
  const mapPins = new Map<string, string>();
  try {
    // bpftool refuses `pinmaps` next to maps pinned by name; those are found under /sys/fs/bpf.
    const args = ['prog', 'loadall', file, progDir, ...(type ? ['type', type] : []), ...(byNamePins.length === 0 ? ['pinmaps', mapDir] : [])];
    let log = '';
    let ok = true;
    try {
      execFileSync('bpftool', args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024, timeout: 120_000 });
    } catch (e) {
      ok = false;
      const err = e as { stderr?: Buffer; message: string };
      log = err.stderr?.toString() ?? err.message;
    }
    if (ok && existsSync(progDir)) {
      for (const name of readdirSync(progDir).sort()) {
        const pin = path.join(progDir, name);
        const show = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show', 'pinned', pin], { encoding: 'utf8' })) as { tag: string };
        tags.set(name, show.tag);
        pins.set(name, pin);
      }
      if (existsSync(mapDir)) for (const name of readdirSync(mapDir).sort()) mapPins.set(name, path.join(mapDir, name));
    }
    return { ok, tags, pins, mapPins, refused: refusedPrograms(log), error: ok ? undefined : lastLines(log, 3) || 'bpftool failed', release };
  } catch (e) {
    release();
    throw e;
  }
}
