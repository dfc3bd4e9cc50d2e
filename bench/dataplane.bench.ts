// Benchmark: the userspace data plane against the kernel's BPF_PROG_TEST_RUN, the issue-13 lines, every ratio from one run.
// Run: npm run bench:dataplane [-- repeat]   (builds dist/ first; default 200,000 runs per measurement; needs root and clang-16)
//
// Five programs on one 64-byte UDP frame (10.0.0.1:40000 -> 10.0.0.2:53): xdp_pass and an ALU
// loop (bench/c/dataplane.c, built here into bench/out/), the per-CPU counter (examples/xdp_stats.o)
// and the 5-tuple parse + hash lookup (examples/xdp_flow_stats.o) with the flow absent (miss) and
// present (hit + counter update). Columns, each the best of 3 in this process unless said:
//   kernel   BPF_PROG_TEST_RUN's mean duration with the same repeat (kernel JIT);
//   jit      the library's testRun (warm: a first call of the same size is discarded);
//   cli      `bpfkit test-run --repeat N -j` in a child process (its duration_ns; one run);
//   run      Program.run(packet) in a loop: what `bpfkit run` did per packet before batches;
//   interp   the reference interpreter's testRun.
// Then the pipeline part (bench/pipeline-64.ts): `bpfkit run` on 1,000,000 64-byte frames against
// tcpdump, start-up, --cpus 2, and the peak RSS on 10,000,000 frames (`--no-pipeline` skips it).

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadObject } from '../src/elf/object-loader.js';
import { createKernelSys } from '../src/kernel/koffi-sys.js';
import { loadKernelObject } from '../src/kernel/object/load-object.js';
import type { Sys } from '../src/kernel/sys.js';
import { buildUdp } from '../src/packet/index.js';
import type { EngineKind } from '../src/jit/create-engine.js';
import { codeLabel, load, useDist } from './code-under-test.js';
import { pipelineFigures } from './pipeline-64.js';

const { loadUserspace } = await load<typeof import('../src/runtime/userspace-object.js')>('runtime/userspace-object.js');
console.log(`# code under test: ${codeLabel}`);

const REPEAT = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 200_000);
const root = join(import.meta.dirname, '..');
const outDir = join(root, 'bench/out');
mkdirSync(outDir, { recursive: true });
const benchObj = join(outDir, 'dataplane.o');
execFileSync('clang-16', ['-O2', '-g', '-target', 'bpf', '-I/usr/include/x86_64-linux-gnu', '-c', join(root, 'bench/c/dataplane.c'), '-o', benchObj]);

// 64 bytes on the wire less the FCS: 14 + 20 + 8 + 18 bytes of payload = 60.
const packet = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'x'.repeat(18) });
const packetFile = join(outDir, `dataplane-${process.pid}.bin`);
writeFileSync(packetFile, packet);
const flowKey = new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 53, 17, 0, 0, 0]);

let sys: Sys | undefined;
try {
  sys = createKernelSys();
} catch (e) {
  console.log(`# kernel column skipped: ${(e as Error).message}`);
}
const pinPath = `/sys/fs/bpf/bpfkit-dp-bench-${process.pid}`;
if (sys) mkdirSync(pinPath, { recursive: true });
process.on('exit', () => {
  rmSync(pinPath, { recursive: true, force: true });
  rmSync(packetFile, { force: true });
});
// A bench stopped by Ctrl-C or a timeout's SIGTERM must not leave its pin directory in bpffs.
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.on(sig, () => process.exit(code));

interface Case { name: string; file: string; prog: string; seed: boolean }
const cases: Case[] = [
  { name: 'xdp_pass', file: benchObj, prog: 'xdp_pass', seed: false },
  { name: 'per-CPU array counter', file: join(root, 'examples/xdp_stats.o'), prog: 'xdp_stats_prog', seed: false },
  { name: '5-tuple parse + hash lookup, miss', file: join(root, 'examples/xdp_flow_stats.o'), prog: 'xdp_flow_stats', seed: false },
  { name: '5-tuple, hit + counter update', file: join(root, 'examples/xdp_flow_stats.o'), prog: 'xdp_flow_stats', seed: true },
  { name: 'ALU loop (1000 iterations)', file: benchObj, prog: 'xdp_alu_loop', seed: false },
];

const best3 = (f: () => number): number => Math.min(f(), f(), f());

function user(c: Case, engine: EngineKind): { testRun: number; run: number; insns: number; retval: number } {
  const spec = loadObject(new Uint8Array(readFileSync(c.file)));
  using obj = loadUserspace(spec, { programs: [c.prog], engine });
  if (c.seed) obj.map('allowed_flows').write(flowKey, new Uint8Array(8), 0);
  const prog = obj.program(c.prog);
  if (prog.engineKind !== engine) throw new Error(`${c.name}: ${engine} not used (${prog.engineFallback ?? ''})`);
  const n = engine === 'interpreter' ? Math.max(1000, REPEAT / 10) : REPEAT;
  prog.testRun({ data: packet, repeat: n });
  let insns = 0;
  let retval = 0;
  const testRun = best3(() => {
    const r = prog.testRun({ data: packet, repeat: n });
    insns = r.instructions;
    retval = r.retval;
    return r.durationNs;
  });
  const loop = (): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) prog.run(packet);
    return ((performance.now() - t0) * 1e6) / n;
  };
  loop();
  return { testRun, run: best3(loop), insns, retval };
}

function kernel(c: Case): number | undefined {
  if (!sys) return undefined;
  const spec = loadObject(new Uint8Array(readFileSync(c.file)));
  using k = loadKernelObject(sys, spec, { programs: [c.prog], pinPath });
  if (c.seed) k.map('allowed_flows').set(flowKey, new Uint8Array(8));
  return best3(() => k.program(c.prog).testRun({ dataIn: packet, repeat: REPEAT }).duration);
}

function cli(c: Case): number | undefined {
  if (c.seed) return undefined; // test-run has no --map-update
  const bin = useDist ? [join(root, 'dist/cli/bin.js')] : ['--import', 'tsx', join(root, 'src/cli/bin.ts')];
  const r = spawnSync(process.execPath, [...bin, 'test-run', c.file, '--prog', c.prog, '--data-in', packetFile, '--repeat', String(REPEAT), '-j'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bpfkit test-run ${c.prog}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { duration_ns: number }).duration_ns;
}

const x = (a: number | undefined, b: number | undefined): string => (a !== undefined && b ? `${(a / b).toFixed(2)}x` : '-');
const ns = (v: number | undefined): string => (v === undefined ? '-' : String(Math.round(v)));
console.log(`\n${packet.length}-byte UDP frame, ${REPEAT} runs per measurement (interpreter: ${Math.max(1000, REPEAT / 10)}), best of 3; ratios against the kernel's test run in this run`);
const head = ['program', 'insns', 'kernel', 'jit', 'jit/k', 'cli', 'cli/k', 'cli/jit', 'run', 'run/k', 'interp', 'interp/k'];
const widths = [34, 5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8];
const line = (cells: string[]): string => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]!) : s.padStart(widths[i]!))).join(' ');
console.log(line(head));
for (const c of cases) {
  const k = kernel(c);
  const jit = user(c, 'jit');
  const interp = user(c, 'interpreter');
  if (interp.retval !== jit.retval) throw new Error(`${c.name}: the engines disagree (${jit.retval} / ${interp.retval})`);
  const cl = cli(c);
  console.log(line([c.name, String(jit.insns), ns(k), ns(jit.testRun), x(jit.testRun, k), ns(cl), x(cl, k), x(cl, jit.testRun), ns(jit.run), x(jit.run, k), ns(interp.testRun), x(interp.testRun, k)]));
}
if (!process.argv.includes('--no-pipeline')) await pipelineFigures();
