// Which build of bpfkit a benchmark times: the compiled package (dist/, what `npm run demo` and
// users run) when it is built and newer than every source file, else the TypeScript sources.
//
// Under tsx every imported binding becomes a getter call, which costs more than some whole
// program runs (measured: xdp_flow_stats ~320 ns per run from src/ under tsx, ~180 ns compiled),
// so runtime timings are only meaningful on compiled code. `npm run build` first.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const distIndex = join(root, 'dist', 'index.js');
/** True when dist/ is built and no file under src/ is newer than it. */
export const useDist: boolean = existsSync(distIndex) && statSync(distIndex).mtimeMs >= newestMtime(join(root, 'src'));

/** One line saying which build is timed, for the benchmark's header. */
export const codeLabel: string = useDist ? 'compiled dist/ (npm run build)' : 'TypeScript sources under tsx (dist/ missing or older than src/: run `npm run build` for the figures users get)';

/**
 * Imports `src/<rel>` (e.g. `runtime/userspace-object.js`) from dist/ or src/ as `useDist` says.
 * Type it with `typeof import('../src/<rel>')`.
 */
export async function load<T>(rel: string): Promise<T> {
  return (await import(join(root, useDist ? 'dist' : 'src', useDist ? rel : rel.replace(/\.js$/, '.ts')))) as T;
}
