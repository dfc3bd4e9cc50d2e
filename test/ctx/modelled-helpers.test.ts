// Modelled helpers against BPF_PROG_TEST_RUN, from test/fixtures/modelled: bpf_get_current_task
// read with bpf_probe_read_kernel(_str) (a task model of this process gives the kernel's tgid, pid
// and comm; task->flags faults, named), bpf_skb_get_xfrm_state on packets without IPsec state, and
// bpf_lwt_push_encap(BPF_LWT_ENCAP_IP) in lwt_xmit and lwt_in (each header variant and refusal):
// retval and data_out equal the kernel's in the JIT and the interpreter.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { KernelStructFieldError } from '../../src/ctx/helpers/index.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { fixturesDir } from '../support/fixtures.js';
import { iterationSeed, prng } from '../support/mutate.js';
import { kernelTest } from '../kernel/harness.js';

const dir = path.join(fixturesDir, 'modelled');
const load = (name: string) => loadObject(new Uint8Array(readFileSync(path.join(dir, `${name}.o`))), { objectName: name });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Ethernet + IPv4 or IPv6 + UDP frames of several sizes, the rest seeded; `tweak` edits each. */
function frames(seed: number, tweak: (f: Uint8Array, i: number) => void = () => {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  for (const v6 of [false, true]) {
    for (const len of [62, 64, 78, 100, 150, 512, 1400]) {
      for (let k = 0; k < 4; k++) {
        const r = prng(iterationSeed(seed, i));
        const f = new Uint8Array(len).map(() => r.int(256));
        f.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2], 0);
        if (v6) f.set([0x86, 0xdd, 0x60, 0, 0, 0, (len - 54) >> 8, (len - 54) & 0xff, 17, 64], 12);
        else f.set([0x08, 0x00, 0x45, 0, (len - 14) >> 8, (len - 14) & 0xff, 0, 0, 0x40, 0, 64, 17], 12);
        tweak(f, i++);
        out.push(f);
      }
    }
  }
  return out;
}

/** This process as the kernel's `current` during a test run. */
function thisTask() {
  const comm = readFileSync(`/proc/self/task/${process.pid}/comm`, 'utf8').trim();
  return { pid: process.pid, tgid: process.pid, uid: 0, gid: 0, comm };
}

kernelTest('bpf_get_current_task + probe reads and bpf_skb_get_xfrm_state equal BPF_PROG_TEST_RUN; task->flags faults, named', (sys) => {
  const spec = load('modelled_task');
  using kernel = loadKernelObject(sys, spec);
  let runs = 0;
  for (const engine of ['jit', 'interpreter'] as const) {
    using user = loadUserspace(spec, { engine, task: thisTask() });
    for (const data of frames(31)) {
      for (const prog of ['task_fields', 'xfrm_state']) {
        const k = kernel.program(prog).testRun({ dataIn: data });
        const u = user.program(prog).testRun({ data });
        assert.equal(u.retval, k.retval, `${engine} ${prog}: retval on ${data.length} bytes`);
        assert.equal(hex(u.dataOut), hex(k.dataOut), `${engine} ${prog}: data_out on ${data.length} bytes ${hex(data.subarray(14, 18))}`);
        runs++;
      }
      const k = kernel.program('task_flags').testRun({ dataIn: data });
      if (data.length < 100) {
        assert.equal(user.program('task_flags').testRun({ data }).retval, k.retval);
        runs++;
      } else {
        assert.throws(() => user.program('task_flags').testRun({ data }), (e: unknown) => e instanceof KernelStructFieldError && e.code === 'ERR_KERNEL_STRUCT_FIELD' && e.struct === 'task_struct' && e.field === 'flags');
      }
    }
  }
  // The kernel's answer is this process: the comparison is not vacuous.
  const probe = frames(31)[0]!;
  probe[14] = 0;
  const out = kernel.program('task_fields').testRun({ dataIn: probe }).dataOut;
  const v = new DataView(out.buffer, out.byteOffset);
  assert.equal(v.getInt32(14 + 24, true), process.pid, 'the kernel reads this process as current');
  assert.equal(Buffer.from(out.subarray(14 + 32, 14 + 48)).toString('latin1').replace(/\0.*$/s, ''), thisTask().comm);
  process.stdout.write(`# get_current_task / xfrm_state: ${runs} runs equal the kernel\n`);
});

kernelTest('bpf_lwt_push_encap(BPF_LWT_ENCAP_IP) in lwt_xmit and lwt_in equals BPF_PROG_TEST_RUN for every header variant', (sys) => {
  const spec = load('modelled_lwt_encap');
  using kernel = loadKernelObject(sys, spec);
  let runs = 0;
  const pushed = new Set<number>();
  const refused = new Set<number>();
  for (const engine of ['jit', 'interpreter'] as const) {
    using user = loadUserspace(spec, { engine });
    // Byte 20 after the Ethernet header picks the variant (0..11).
    for (const data of frames(32, (f, i) => void (f[14 + 20] = i % 12))) {
      for (const prog of ['encap_xmit', 'encap_in']) {
        const k = kernel.program(prog).testRun({ dataIn: data });
        const u = user.program(prog).testRun({ data });
        assert.equal(u.retval, k.retval, `${engine} ${prog} variant ${data[34]}: retval on ${data.length} bytes`);
        assert.equal(hex(u.dataOut), hex(k.dataOut), `${engine} ${prog} variant ${data[34]}: data_out on ${data.length} bytes`);
        if ((k.retval & 0xff) === 128) pushed.add(data[34]!);
        else if (k.retval & 0x100) refused.add(data[34]!);
        runs++;
      }
    }
  }
  assert.deepEqual([...pushed].sort((a, b) => a - b), [0, 1, 2, 4, 8, 11], 'the kernel pushed these variants');
  assert.deepEqual([...refused].sort((a, b) => a - b), [3, 5, 6, 7, 9, 10], 'the kernel refused these');
  process.stdout.write(`# lwt_push_encap: ${runs} runs equal the kernel (variants pushed ${[...pushed].join(',')}, refused ${[...refused].join(',')})\n`);
});
