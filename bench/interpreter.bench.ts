// Benchmark: userspace interpreter and JIT ns per run vs the kernel's BPF_PROG_TEST_RUN duration, same program and packet.
// Run: node --import tsx bench/interpreter.bench.ts [repeat]   (default 100,000 runs per measurement; kernel column needs root)
//
// For every XDP / TC / socket-filter program of the fixtures and examples that both can run: the
// object loaded on each side (maps created, seeded alike), then `repeat` runs on one packet —
// bpfkit's testRun() (mean wall time per run) with the interpreter and with the WebAssembly JIT,
// and the kernel's BPF_PROG_TEST_RUN with the same repeat (mean duration per run, kernel JIT on).
// Best of 3 each. jit/kernel = bpfkit JIT / kernel, interp/jit = the JIT's speed-up (one run each).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadObject } from '../src/elf/object-loader.js';
import { BpfProgType } from '../src/isa/uapi.generated.js';
import { createKernelSys } from '../src/kernel/koffi-sys.js';
import { loadKernelObject } from '../src/kernel/object/load-object.js';
import type { Sys } from '../src/kernel/sys.js';
import { buildUdp } from '../src/packet/index.js';
import { alu64, exit, jmp, label, ldx, program, r0, r1, r2, r3, r4, r5, r6 } from '../src/isa/index.js';
import type { EngineKind } from '../src/jit/create-engine.js';
import { codeLabel, load } from './code-under-test.js';

// The code under test comes from dist/ when it is built (see code-under-test.ts).
const { loadUserspace } = await load<typeof import('../src/runtime/userspace-object.js')>('runtime/userspace-object.js');
const { createXdpVm } = await load<typeof import('../src/vm/run.js')>('vm/run.js');
const { xdpOps } = await load<typeof import('../src/ctx/xdp.js')>('ctx/xdp.js');
const { JitEngine } = await load<typeof import('../src/jit/jit-engine.js')>('jit/jit-engine.js');
const { AddressSpace } = await load<typeof import('../src/vm/address-space.js')>('vm/address-space.js');
const { builtinHelpers } = await load<typeof import('../src/vm/helpers.js')>('vm/helpers.js');
const { prepareProgram } = await load<typeof import('../src/vm/program.js')>('vm/program.js');
if (!process.argv.includes('--only')) console.log(`# code under test: ${codeLabel}`);

const REPEAT = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
// `--only OBJ`: measure one object's programs alone in this process (used by the goal lines below).
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt > 0 ? process.argv[onlyAt + 1] : undefined;
const root = join(import.meta.dirname, '..');
const files = [
  ...readdirSync(join(root, 'test/fixtures')).filter((f) => f.endsWith('.o') && !f.includes('bpfeb')).map((f) => join(root, 'test/fixtures', f)),
  ...readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.o')).map((f) => join(root, 'examples', f)),
];
const RUNNABLE = new Set<number>([BpfProgType.XDP, BpfProgType.SCHED_CLS, BpfProgType.SOCKET_FILTER]);
// The flow the filters' allow-lists get, so the 5-tuple programs take their full path (parse + hit).
const packet = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 53, payload: 'benchmark payload' });
const flowKey40 = new Uint8Array([2, 17, 0, 0, 0x9c, 0x40, 0, 53, 10, 0, 0, 1, ...new Array<number>(12).fill(0), 10, 0, 0, 2, ...new Array<number>(12).fill(0)]);
const flowKey16 = new Uint8Array([10, 0, 0, 1, 10, 0, 0, 2, 0x9c, 0x40, 0, 53, 17, 0, 0, 0]);
const SEEDS: Record<string, [string, Uint8Array]> = { tc_flow_filter: ['allowed_flows', flowKey40], xdp_flow_stats: ['allowed_flows', flowKey16] };

let sys: Sys | undefined;
try {
  sys = createKernelSys();
} catch (e) {
  console.log(`# kernel column skipped: ${(e as Error).message}`);
}

const pinPath = `/sys/fs/bpf/bpfkit-rt-bench-${process.pid}`;
if (sys) mkdirSync(pinPath, { recursive: true });
process.on('exit', () => rmSync(pinPath, { recursive: true, force: true }));

interface Row { name: string; insns: number; interp: number; jit: number; kernel: number | undefined }
const rows: Row[] = [];

/** Best-of-3 mean ns per run of `name` in a fresh userspace object with `engine`, and its instruction count. */
function measure(spec: ReturnType<typeof loadObject>, programs: string[], name: string, engine: EngineKind, seed: [string, Uint8Array] | undefined): { ns: number; insns: number } {
  using user = loadUserspace(spec, { programs, verify: false, engine }); // timing execution, not the verifier
  if (seed) user.map(seed[0]).write(seed[1], new Uint8Array(8), 0);
  const prog = user.program(name);
  if (prog.engineKind !== engine) console.log(`# ${name}: ${engine} not used (${prog.engineFallback ?? ''})`);
  let best = Infinity;
  let insns = 0;
  prog.testRun({ data: packet, repeat: Math.min(REPEAT, 10_000) }); // warm-up
  for (let i = 0; i < 3; i++) {
    const r = prog.testRun({ data: packet, repeat: REPEAT });
    best = Math.min(best, r.durationNs);
    insns = r.instructions;
  }
  return { ns: best, insns };
}

for (const file of files) {
  const objName = basename(file, '.o');
  if (ONLY && objName !== ONLY) continue;
  const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: objName });
  const programs = spec.programs.filter((p) => RUNNABLE.has(p.type)).map((p) => p.name);
  if (programs.length === 0) continue;
  try {
    loadUserspace(spec, { programs, verify: false })[Symbol.dispose]();
  } catch (e) {
    console.log(`# ${objName}: not runnable in userspace: ${(e as Error).message}`);
    continue;
  }
  const seed = SEEDS[objName];
  for (const name of programs) {
    const interp = measure(spec, programs, name, 'interpreter', seed);
    const jit = measure(spec, programs, name, 'jit', seed);
    let kernel: number | undefined;
    if (sys) {
      try {
        using k = loadKernelObject(sys, spec, { programs, pinPath }); // maps pinned by name go to a private dir
        if (seed) k.map(seed[0]).set(seed[1], new Uint8Array(8));
        kernel = Infinity;
        for (let i = 0; i < 3; i++) kernel = Math.min(kernel, k.program(name).testRun({ dataIn: packet, repeat: REPEAT }).duration);
      } catch (e) {
        console.log(`# ${objName}/${name}: kernel run failed: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    rows.push({ name: `${objName}/${name}`, insns: jit.insns, interp: interp.ns, jit: jit.ns, kernel });
  }
}

if (ONLY) {
  for (const r of rows) console.log(`#ALONE ${JSON.stringify(r)}`);
  process.exit(0);
}

// Fixed cost of one run: a two-instruction program (r0 = XDP_PASS; exit) in the bare engines.
{
  const insns = program(alu64.mov.imm(r0, 2), exit());
  const vm = createXdpVm(insns);
  const r1 = vm.context.setup({ data: packet });
  const space = new AddressSpace();
  const ctx = xdpOps.createContext(space);
  const jit = new JitEngine(prepareProgram(insns, { helpers: builtinHelpers() }), space);
  const jr1 = ctx.setup({ data: packet });
  const time = (f: () => void): number => {
    let best = Infinity;
    for (let k = 0; k < 4; k++) {
      const t0 = performance.now();
      for (let i = 0; i < REPEAT; i++) f();
      best = Math.min(best, ((performance.now() - t0) * 1e6) / REPEAT);
    }
    return Math.round(best);
  };
  const interp = time(() => vm.interpreter.run(r1));
  rows.unshift({ name: '(baseline: r0 = 2; exit, bare vm)', insns: 2, interp, jit: time(() => jit.run(jr1)), kernel: undefined });
}

const x = (a: number, b: number | undefined): string => (b ? `${(a / Math.max(b, 1)).toFixed(1)}x` : '-');
console.log(`\ninterpreter and JIT vs kernel BPF_PROG_TEST_RUN, one ${packet.length}-byte UDP packet, ${REPEAT} runs per measurement, best of 3`);
console.log(
  `${'program'.padEnd(36)} ${'insns'.padStart(5)} ${'interp ns'.padStart(10)} ${'jit ns'.padStart(7)} ${'kernel ns'.padStart(10)} ${'jit/kernel'.padStart(10)} ${'interp/jit'.padStart(10)}`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(36)} ${String(r.insns).padStart(5)} ${String(r.interp).padStart(10)} ${String(r.jit).padStart(7)} ${String(r.kernel ?? '-').padStart(10)} ${x(r.jit, r.kernel).padStart(10)} ${x(r.interp, r.jit).padStart(10)}`,
  );
}
console.log('');
// The goal lines. Above, every program shares one process, so the JavaScript the runs go through
// (helpers, map lookups, contexts) has seen every program's maps and contexts and is
// megamorphic; a deployment runs one object per process (`bpfkit run`), which is measured too:
// the same object, alone in a child process.
for (const name of ['xdp_flow_stats/xdp_flow_stats', 'tc_flow_filter/tc_flow_filter']) {
  const goal = rows.find((r) => r.name === name);
  if (!goal?.kernel) continue;
  const child = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, '--only', name.split('/')[0]!, String(REPEAT)], { encoding: 'utf8' });
  const line = child.stdout.split('\n').find((l) => l.startsWith('#ALONE ') && (JSON.parse(l.slice(7)) as Row).name === name);
  const alone = line ? (JSON.parse(line.slice(7)) as Row) : undefined;
  console.log(
    `5-tuple parse + hash lookup (${name}): JIT ${goal.jit} ns vs kernel ${goal.kernel} ns = ${x(goal.jit, goal.kernel)} with every program in one process` +
      (alone?.kernel ? `, ${alone.jit} ns vs ${alone.kernel} ns = ${x(alone.jit, alone.kernel)} alone in its process` : '') +
      ` (goal: within 10x; interpreter ${x(goal.interp, goal.kernel)})`,
  );
}

// JIT control flow: forward jumps as direct branches out of nested blocks (what the JIT emits)
// against every jump through the loop's br_table dispatch (the plain "loop + switch" shape).
{
  const shapes: [string, ReturnType<typeof program>][] = [
    ['300 forward branches (parse-like)', program(
      ldx.w(r6, r1, 0), ldx.b(r2, r6, 0), ldx.b(r3, r6, 1), // data-dependent: nothing to constant-fold
      Array.from({ length: 300 }, (_, i) => [alu64.add.imm(r2, i), jmp.jgt.imm(r2, (i * 7919) % 40000, `F${i}`), alu64.xor.reg(r3, r2), label(`F${i}`), alu64.mul.imm(r3, 3)]).flat(),
      alu64.mov.reg(r0, r3), exit(),
    )],
    ['nested loops 16x16 (backward jumps)', program(
      ldx.w(r6, r1, 0), alu64.mov.imm(r0, 7), alu64.mov.imm(r2, 0), label('outer'), alu64.mov.imm(r3, 0),
      label('inner'), alu64.mov.reg(r4, r2), alu64.xor.reg(r4, r3), alu64.and.imm(r4, 31), alu64.mov.reg(r5, r6), alu64.add.reg(r5, r4), ldx.b(r4, r5, 0),
      alu64.mul.imm(r0, 31), alu64.add.reg(r0, r4), alu64.add.imm(r3, 1), jmp.jlt.imm(r3, 16, 'inner'),
      alu64.add.imm(r2, 1), jmp.jlt.imm(r2, 16, 'outer'), exit(),
    )],
  ];
  const n = Math.max(1000, Math.floor(REPEAT / 10));
  console.log(`\nJIT control flow, bare engine, ${n} runs, best of 5 alternating rounds: nested blocks (forward jumps branch directly) vs all jumps through the loop dispatch`);
  console.log(`${'program'.padEnd(40)} ${'executed'.padStart(8)} ${'blocks ns'.padStart(10)} ${'dispatch ns'.padStart(12)} ${'dispatch/blocks'.padStart(16)}`);
  for (const [name, insns] of shapes) {
    // Both engines built first, then timed in alternation (best of 5 rounds each), so load shifts hit both.
    const engines = [false, true].map((dispatchAll) => {
      const space = new AddressSpace();
      const ctx = xdpOps.createContext(space);
      const e = new JitEngine(prepareProgram(insns, { helpers: builtinHelpers() }), space, { compile: { dispatchAll } });
      return { e, r1: ctx.setup({ data: packet }), ns: Infinity, executed: 0 };
    });
    for (let k = 0; k < 5; k++) {
      for (const x of engines) {
        const t0 = performance.now();
        for (let i = 0; i < n; i++) x.executed = x.e.run(x.r1);
        x.ns = Math.min(x.ns, ((performance.now() - t0) * 1e6) / n);
      }
    }
    const times = engines.map((x) => ({ ns: Math.round(x.ns), executed: x.executed }));
    const [blocks, dispatch] = times as [{ ns: number; executed: number }, { ns: number; executed: number }];
    console.log(`${name.padEnd(40)} ${String(blocks.executed).padStart(8)} ${String(blocks.ns).padStart(10)} ${String(dispatch.ns).padStart(12)} ${`${(dispatch.ns / blocks.ns).toFixed(2)}x`.padStart(16)}`);
  }
}
