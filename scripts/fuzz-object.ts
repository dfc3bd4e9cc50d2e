// The long loadObject fuzz run: `npm run fuzz -- --iters 1000000 --seed N`, with a hang watchdog and saved failures.
//
// Options:
//   --iters N      iterations (default 100000)
//   --seed N       run seed (default: the time); iteration i of seed S is rebuilt by fuzzInput(corpus, S, i)
//   --start N      first iteration (default 0), to resume or to split a run across processes
//   --only N       run iteration N alone and print what it does (reproduce a failure)
//   --timeout MS   an iteration running longer is a hang (default 10000)
//   --out DIR      where failing inputs go (default $TMPDIR/bpfkit-fuzz-<seed>)
//
// The fuzz loop runs in a worker thread; the main thread watches a shared counter, and when an
// iteration overstays --timeout it terminates the worker, saves that input as a hang and
// restarts after it. Failures (anything but a BpfkitError escaping) are grouped by where they
// were thrown; the first 3 inputs of each group are saved. Exit status 1 when anything failed.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

import { listFixtures, xdpToolsObjects } from '../test/support/fixtures.js';
import { fuzzInput, loadAndWalk, type CorpusEntry } from '../test/support/mutate.js';

interface Job {
  seed: number;
  start: number;
  end: number;
  /** [0] = iteration in progress (-1 idle), [1] = iterations done. */
  shared: SharedArrayBuffer;
}

type WorkerMessage =
  | { type: 'outcomes'; outcomes: Record<string, number>; slowestMs: number; slowestIteration: number }
  | { type: 'failure'; iteration: number; error: string; signature: string };

function corpus(): CorpusEntry[] {
  return [...listFixtures(), ...xdpToolsObjects()].map((p) => ({ name: basename(p), bytes: new Uint8Array(readFileSync(p)) }));
}

/** Where an error was thrown: its class and the first stack frame inside the repository. */
function signature(e: unknown): string {
  if (!(e instanceof Error)) return `non-error ${typeof e}`;
  const frame = (e.stack ?? '').split('\n').find((l) => l.includes('/src/')) ?? '';
  return `${e.name} ${frame.trim().replace(/^at /, '').replace(/\(.*\/src\//, '(src/')}`;
}

const runOne = loadAndWalk;

function workerMain(job: Job): void {
  const entries = corpus();
  const state = new Int32Array(job.shared);
  const outcomes: Record<string, number> = {};
  let slowestMs = 0;
  let slowestIteration = -1;
  let lastReport = performance.now();
  const report = (): void => parentPort!.postMessage({ type: 'outcomes', outcomes: { ...outcomes }, slowestMs, slowestIteration } satisfies WorkerMessage);
  for (let i = job.start; i < job.end; i++) {
    Atomics.store(state, 0, i);
    const input = fuzzInput(entries, job.seed, i);
    const started = performance.now();
    let outcome: string;
    try {
      outcome = runOne(input.bytes);
    } catch (e) {
      outcome = 'FAILURE';
      parentPort!.postMessage({ type: 'failure', iteration: i, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e), signature: signature(e) } satisfies WorkerMessage);
    }
    const took = performance.now() - started;
    if (took > slowestMs) [slowestMs, slowestIteration] = [took, i];
    outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    Atomics.add(state, 1, 1);
    if (started - lastReport > 1000) {
      report();
      lastReport = started;
    }
  }
  Atomics.store(state, 0, -1);
  report();
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      iters: { type: 'string', default: '100000' },
      seed: { type: 'string' },
      start: { type: 'string', default: '0' },
      only: { type: 'string' },
      timeout: { type: 'string', default: '10000' },
      out: { type: 'string' },
    },
  });
  const seed = Number(values.seed ?? (Date.now() & 0x7fffffff));
  const entries = corpus();
  if (xdpToolsObjects().length === 0) console.warn('warning: xdp-tools objects not found; fuzzing the committed fixtures only');

  if (values.only !== undefined) {
    const i = Number(values.only);
    const input = fuzzInput(entries, seed, i);
    console.log(`seed ${seed} iteration ${i}: from ${input.base} (${input.bytes.length} bytes): ${input.log.join('; ')}`);
    const path = join(tmpdir(), `bpfkit-fuzz-${seed}-${i}.o`);
    writeFileSync(path, input.bytes);
    console.log(`input written to ${path}`);
    const started = performance.now();
    console.log(`outcome: ${runOne(input.bytes)} (${(performance.now() - started).toFixed(1)} ms)`); // a failure throws with its stack
    return;
  }

  const iters = Number(values.iters);
  const start = Number(values.start);
  const timeoutMs = Number(values.timeout);
  const outDir = values.out ?? join(tmpdir(), `bpfkit-fuzz-${seed}`);
  mkdirSync(outDir, { recursive: true });
  console.log(`fuzzing loadObject: ${iters} iterations from ${start}, seed ${seed}, corpus of ${entries.length} objects, failures to ${outDir}`);

  const groups = new Map<string, { count: number; first: string; saved: string[] }>();
  const hangs: number[] = [];
  const totals: Record<string, number> = {};
  let slowest = { ms: 0, iteration: -1 };
  const save = (iteration: number, kind: string): string => {
    const path = join(outDir, `${kind}-${seed}-${iteration}.o`);
    writeFileSync(path, fuzzInput(entries, seed, iteration).bytes);
    return path;
  };
  const t0 = performance.now();
  let done = 0;

  let from = start;
  const end = start + iters;
  while (from < end) {
    const shared = new SharedArrayBuffer(8);
    const state = new Int32Array(shared);
    Atomics.store(state, 0, -1);
    // tsx's --import hook does not reach workers: register it inside, then import this file.
    const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const worker = new Worker(boot, { eval: true, workerData: { seed, start: from, end, shared } satisfies Job });
    const segment: Record<string, number> = {};
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'outcomes') {
        Object.assign(segment, m.outcomes);
        if (m.slowestMs > slowest.ms) slowest = { ms: m.slowestMs, iteration: m.slowestIteration };
        return;
      }
      const g = groups.get(m.signature) ?? { count: 0, first: `iteration ${m.iteration}: ${m.error}`, saved: [] };
      g.count++;
      if (g.saved.length < 3) g.saved.push(save(m.iteration, 'crash'));
      if (g.count === 1) console.log(`FAILURE at iteration ${m.iteration}: ${m.error}\n  at ${m.signature}\n  input: ${g.saved[0]} (reproduce: npm run fuzz -- --seed ${seed} --only ${m.iteration})`);
      groups.set(m.signature, g);
    });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    let lastIteration = -2;
    let since = performance.now();
    let lastPrint = performance.now();
    let hung = -1;
    for (;;) {
      const result = await Promise.race([exited.then(() => 'exit' as const), new Promise<'tick'>((r) => setTimeout(() => r('tick'), 250))]);
      const now = performance.now();
      const current = Atomics.load(state, 0);
      const segmentDone = Atomics.load(state, 1);
      if (now - lastPrint > 5000) {
        const total = done + segmentDone;
        const secs = (now - t0) / 1000;
        const failures = [...groups.values()].reduce((a, g) => a + g.count, 0);
        console.log(`${total}/${iters} (${((100 * total) / iters).toFixed(1)}%), ${(total / secs).toFixed(0)} it/s, ${failures} failures, ${hangs.length} hangs`);
        lastPrint = now;
      }
      if (result === 'exit') break;
      if (current !== lastIteration) [lastIteration, since] = [current, now];
      else if (current >= 0 && now - since > timeoutMs) {
        hung = current;
        await worker.terminate();
        break;
      }
    }
    for (const [k, v] of Object.entries(segment)) totals[k] = (totals[k] ?? 0) + v;
    done += Atomics.load(state, 1);
    if (hung >= 0) {
      hangs.push(hung);
      const path = save(hung, 'hang');
      console.log(`HANG at iteration ${hung} (> ${timeoutMs} ms): input ${path} (reproduce: npm run fuzz -- --seed ${seed} --only ${hung})`);
      done++;
      from = hung + 1;
    } else {
      from = end;
    }
  }

  const secs = (performance.now() - t0) / 1000;
  console.log(`\ndone: ${done} iterations in ${secs.toFixed(1)} s (${(done / secs).toFixed(0)} it/s), seed ${seed}`);
  console.log(`outcomes: ${Object.entries(totals).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`slowest iteration: ${slowest.ms.toFixed(1)} ms (iteration ${slowest.iteration})`);
  for (const [sig, g] of groups) console.log(`failure x${g.count}: ${g.first}\n  at ${sig}\n  saved: ${g.saved.join(' ')}`);
  if (hangs.length) console.log(`hangs: iterations ${hangs.join(', ')}`);
  if (groups.size || hangs.length) process.exitCode = 1;
}

if (isMainThread) {
  await main();
} else {
  workerMain(workerData as Job);
}
