// Benchmark: userspace interpreter ns per run vs the kernel's BPF_PROG_TEST_RUN duration, same program and packet.
// Run: node --import tsx bench/interpreter.bench.ts [repeat]   (default 100,000 runs per measurement; kernel column needs root)
//
// For every XDP / TC / socket-filter program of the fixtures and examples that both can run: the
// object loaded on each side (maps created, seeded alike), then `repeat` runs on one packet —
// bpfkit's testRun() (mean wall time per run) and the kernel's BPF_PROG_TEST_RUN with the same
// repeat (mean duration per run, JIT on). Best of 3 each. Ratio = bpfkit / kernel (lower is better).

import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadObject } from '../src/elf/object-loader.js';
import { BpfProgType } from '../src/isa/uapi.generated.js';
import { createKernelSys } from '../src/kernel/koffi-sys.js';
import { loadKernelObject } from '../src/kernel/object/load-object.js';
import type { Sys } from '../src/kernel/sys.js';
import { buildUdp } from '../src/packet/index.js';
import { loadUserspace } from '../src/runtime/userspace-object.js';
import { alu64, exit, program, r0 } from '../src/isa/index.js';
import { createXdpVm } from '../src/vm/run.js';

const REPEAT = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
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

interface Row { name: string; insns: number; user: number; kernel: number | undefined }
const rows: Row[] = [];
for (const file of files) {
  const objName = basename(file, '.o');
  const spec = loadObject(new Uint8Array(readFileSync(file)), { objectName: objName });
  const programs = spec.programs.filter((p) => RUNNABLE.has(p.type)).map((p) => p.name);
  if (programs.length === 0) continue;
  let user;
  try {
    user = loadUserspace(spec, { programs, verify: false }); // timing the interpreter, not the verifier
  } catch (e) {
    console.log(`# ${objName}: not runnable in userspace: ${(e as Error).message}`);
    continue;
  }
  const seed = SEEDS[objName];
  if (seed) user.map(seed[0]).write(seed[1], new Uint8Array(8), 0);
  for (const name of programs) {
    const prog = user.program(name);
    let best = Infinity;
    let insns = 0;
    prog.testRun({ data: packet, repeat: Math.min(REPEAT, 10_000) }); // warm-up
    for (let i = 0; i < 3; i++) {
      const r = prog.testRun({ data: packet, repeat: REPEAT });
      best = Math.min(best, r.durationNs);
      insns = r.instructions;
    }
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
    rows.push({ name: `${objName}/${name}`, insns, user: best, kernel });
  }
  user[Symbol.dispose]();
}

// Fixed cost of one run: a two-instruction program (r0 = XDP_PASS; exit) in the bare interpreter.
{
  const vm = createXdpVm(program(alu64.mov.imm(r0, 2), exit()));
  const r1 = vm.context.setup({ data: packet });
  let best = Infinity;
  for (let k = 0; k < 4; k++) {
    const t0 = performance.now();
    for (let i = 0; i < REPEAT; i++) vm.interpreter.run(r1);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / REPEAT);
  }
  rows.unshift({ name: '(baseline: r0 = 2; exit, bare vm)', insns: 2, user: Math.round(best), kernel: undefined });
}

console.log(`\ninterpreter vs kernel BPF_PROG_TEST_RUN, one ${packet.length}-byte UDP packet, ${REPEAT} runs per measurement, best of 3`);
console.log(`${'program'.padEnd(36)} ${'insns'.padStart(5)} ${'bpfkit ns/run'.padStart(14)} ${'ns/insn'.padStart(8)} ${'kernel ns/run'.padStart(14)} ${'ratio'.padStart(7)}`);
for (const r of rows) {
  const ratio = r.kernel ? `${(r.user / Math.max(r.kernel, 1)).toFixed(0)}x` : '-';
  console.log(`${r.name.padEnd(36)} ${String(r.insns).padStart(5)} ${String(r.user).padStart(14)} ${(r.user / Math.max(r.insns, 1)).toFixed(1).padStart(8)} ${String(r.kernel ?? '-').padStart(14)} ${ratio.padStart(7)}`);
}
const goal = rows.find((r) => r.name === 'tc_flow_filter/tc_flow_filter');
if (goal?.kernel) console.log(`\n5-tuple parse + hash lookup (tc_flow_filter): bpfkit ${goal.user} ns vs kernel ${goal.kernel} ns = ${(goal.user / goal.kernel).toFixed(0)}x (goal: within 10x)`);
