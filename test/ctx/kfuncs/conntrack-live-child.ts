// Runs kfunc_ct.o in the kernel from inside a network namespace (spawned by conntrack-live.test.ts under `ip netns
// exec`): argv[2] is a JSON list of { program, packet: hex }; runs each in order and prints, per run, the retval and
// ct_stats slots 0..3 as JSON. xdp_ct_alloc inserts a real conntrack entry into this namespace's table.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../../src/elf/object-loader.js';
import { testRun } from '../../../src/kernel/bpf/prog-test-run.js';
import { createKernelSys } from '../../../src/kernel/koffi-sys.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { fixturesDir } from '../../support/fixtures.js';

const runs = JSON.parse(process.argv[2] ?? '[]') as { program: string; packet: string }[];
const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'kfunc', 'kfunc_ct.o'))), { objectName: 'kfunc_ct' });
const sys = createKernelSys();
const out: { retval: number; stats: string[] }[] = [];
{
  using obj = loadKernelObject(sys, spec, { programs: [...new Set(runs.map((r) => r.program))] });
  const stats = obj.map('ct_stats');
  const zero = new Uint8Array(8);
  for (const r of runs) {
    for (let k = 0; k < 4; k++) stats.set(key(k), zero);
    const res = testRun(obj.program(r.program).fd, { dataIn: new Uint8Array(Buffer.from(r.packet, 'hex')) });
    out.push({ retval: res.retval, stats: [0, 1, 2, 3].map((k) => new DataView(stats.get(key(k))!.buffer).getBigInt64(0, true).toString()) });
  }
}
process.stdout.write(JSON.stringify(out));

function key(k: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, k, true);
  return b;
}
