// Kfuncs in a run against BPF_PROG_TEST_RUN: test/fixtures/kfunc/kfunc_run.o's programs (dynptr slices of skb and
// xdp packets, multi-buffer frames included; conntrack lookups with every opts check) on the same packets in the
// kernel, the interpreter and the JIT: retval and data_out must be equal.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createKfuncs } from '../../../src/ctx/kfuncs/index.js';
import { createHelperEnv } from '../../../src/ctx/helpers/env.js';
import { loadObject } from '../../../src/elf/object-loader.js';
import type { ProgramSpec } from '../../../src/elf/object-spec.js';
import { JitEngine } from '../../../src/jit/jit-engine.js';
import { testRun } from '../../../src/kernel/bpf/prog-test-run.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { createRunContext } from '../../../src/runtime/run-context.js';
import { AddressSpace } from '../../../src/vm/address-space.js';
import { Interpreter } from '../../../src/vm/interpreter.js';
import { prepareProgram } from '../../../src/vm/program.js';
import { fixturesDir } from '../../support/fixtures.js';
import { iterationSeed, prng } from '../../support/mutate.js';
import { kernelTest } from '../../kernel/harness.js';

const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'kfunc', 'kfunc_run.o'))), { objectName: 'kfunc_run' });

interface Case {
  readonly name: string;
  readonly data: Uint8Array;
  readonly ctxIn?: Uint8Array;
}

/** What a run gives: retval and data_out, or the error. */
type Result = { retval: number; dataOut: string } | { error: string };
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function userspaceRun(p: ProgramSpec, c: Case, engine: 'interpreter' | 'jit'): Result {
  const space = new AddressSpace();
  const ctx = createRunContext(p.type, space, p.name);
  const env = createHelperEnv();
  env.context = ctx.instance;
  const prepared = prepareProgram(p.instructions, { kfuncs: createKfuncs(env) });
  const e = engine === 'jit' ? new JitEngine(prepared, space) : new Interpreter(prepared, space);
  let r1: number;
  try {
    r1 = ctx.setup(c.data, c.ctxIn);
  } catch (err) {
    return { error: (err as Error).message };
  }
  e.run(r1);
  return { retval: e.retLo >>> 0, dataOut: hex(ctx.dataOut()) };
}

/** An Ethernet/IPv4/TCP-or-UDP frame of `len` bytes with control bytes at 40..47 and the rest seeded. */
function frame(seed: number, i: number, len: number, control: readonly number[]): Uint8Array {
  const r = prng(iterationSeed(seed, i));
  const f = new Uint8Array(len).map(() => r.int(256));
  f.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0], 0);
  f[23] = control[1] ?? 6;
  f.set([10, 99, (i >> 8) & 0xff, i & 0xff, 10, 98, 0, 1], 26);
  if (len >= 48) f.set(control, 40);
  return f;
}

function cases(): { program: string; list: Case[] }[] {
  const xdp: Case[] = [];
  for (const [i, len] of [64, 100, 250, 1500, 3520, 3600].entries()) xdp.push({ name: `xdp ${len} linear`, data: frame(1, i, len, []) });
  // Multi-buffer frames: data_end in ctx_in ends the linear part, the rest is in fragments.
  const multi: readonly (readonly [number, number])[] = [[5000, 3000], [9100, 3500], [9100, 100], [4200, 4096 - 256 - 320]];
  for (const [i, [len, linear]] of multi.entries()) {
    const ctxIn = new Uint8Array(24);
    new DataView(ctxIn.buffer).setUint32(4, linear, true);
    xdp.push({ name: `xdp ${len} frags (linear ${linear})`, data: frame(2, i, len, []), ctxIn });
  }
  const tc: Case[] = [64, 100, 200, 1403, 1404, 1500].map((len, i) => ({ name: `tc ${len}`, data: frame(3, i, len, []) }));
  const ct: Case[] = [];
  const ctTc: Case[] = [];
  let i = 0;
  for (const netns of [0, 1, 2, 3]) {
    for (const proto of [6, 17, 1]) {
      for (const reserved of [0, 1]) {
        for (const optsel of [0, 1]) {
          for (const tsel of [0, 1, 2]) {
            for (const zone of [0, 5]) ct.push({ name: `ct netns#${netns} proto ${proto} reserved ${reserved} opts ${optsel ? 16 : 12} tuple#${tsel} zone ${zone}`, data: frame(4, i++, 64, [netns, proto, reserved, optsel, tsel, zone, 0, 0]) });
          }
        }
      }
    }
  }
  for (const proto of [6, 17, 1, 0]) ctTc.push({ name: `tc ct proto ${proto}`, data: frame(5, proto, 64, [0, proto, 0, 0, 0, 0, 0, 0]) });
  return [
    { program: 'xdp_slices', list: xdp },
    { program: 'tc_slices', list: tc },
    { program: 'xdp_ct_run', list: ct },
    { program: 'tc_ct_run', list: ctTc },
  ];
}

kernelTest('kfunc runs: dynptr slices and conntrack lookups equal BPF_PROG_TEST_RUN in the interpreter and the JIT', (sys) => {
  let compared = 0;
  const diffs: string[] = [];
  for (const { program, list } of cases()) {
    using obj = loadKernelObject(sys, spec, { programs: [program] });
    const fd = obj.program(program).fd;
    const p = spec.programs.find((x) => x.name === program)!;
    for (const c of list) {
      let kernel: Result;
      try {
        const r = testRun(fd, { dataIn: c.data, ...(c.ctxIn ? { ctxIn: c.ctxIn } : {}) });
        kernel = { retval: r.retval >>> 0, dataOut: hex(r.dataOut) };
      } catch (err) {
        if (!(err instanceof KernelError)) throw err;
        kernel = { error: err.errnoName };
      }
      for (const engine of ['interpreter', 'jit'] as const) {
        const ours = userspaceRun(p, c, engine);
        compared++;
        const same = 'error' in kernel ? 'error' in ours : !('error' in ours) && ours.retval === kernel.retval && ours.dataOut === kernel.dataOut;
        if (!same) diffs.push(`${program} ${c.name} (${engine}): kernel ${JSON.stringify('error' in kernel ? kernel : { retval: kernel.retval })}, bpfkit ${JSON.stringify('error' in ours ? ours : { retval: ours.retval, sameData: 'error' in kernel ? false : ours.dataOut === kernel.dataOut })}`);
      }
    }
  }
  console.log(`# kfunc runs: ${compared} runs compared with BPF_PROG_TEST_RUN, ${diffs.length} differ`);
  assert.deepEqual(diffs, []);
});
