// Runs bpf_fib_lookup cases in the kernel from inside a network namespace (spawned by fib.test.ts
// under `ip netns exec`): argv[2] is a JSON list of { params: hex, flags }; prints JSON results.
import { encode } from '../../src/isa/index.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { createKernelSys } from '../../src/kernel/koffi-sys.js';
import { fibProgram } from './fib-program.js';

const cases = JSON.parse(process.argv[2] ?? '[]') as { params: string; flags: number }[];
const sys = createKernelSys();
const prog = loadProgram(sys, { type: 6, insns: encode(fibProgram()), license: 'GPL', name: 'bk_ctx_fib' });
const out: { retval: number; params: string }[] = [];
try {
  for (const c of cases) {
    const data = new Uint8Array(80);
    data.set(Buffer.from(c.params, 'hex'));
    new DataView(data.buffer).setUint32(64, c.flags, true);
    const r = testRun(prog, { dataIn: data });
    out.push({ retval: r.retval, params: Buffer.from(r.dataOut.subarray(0, 64)).toString('hex') });
  }
} finally {
  prog.close();
}
process.stdout.write(JSON.stringify(out));
