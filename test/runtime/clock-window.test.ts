// The real-programs harness's clock comparison (bench/real-programs/clock-window.ts) against the
// kernel: test/fixtures/modelled/modelled_clock.o stores bpf_ktime_get_ns, bpf_ktime_get_boot_ns
// and now + 10 s in the packet and a hash. Run by BPF_PROG_TEST_RUN and by the userspace runtime
// on the host's clocks, the outputs differ byte-wise but are equal up to clock values; the same
// outputs with one time moved by 2 s, or a non-time byte changed, are not.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { equalUpToClock, hostClock, timed } from '../../bench/real-programs/clock-window.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { fixturesDir } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';

const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'modelled', 'modelled_clock.o'))), { objectName: 'modelled_clock' });

function frame(i: number): Uint8Array {
  const f = new Uint8Array(80).fill(0x11);
  f.set([0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, i, 0], 0);
  return f;
}

kernelTest('clock values: kernel and userspace times of their own runs compare equal up to clock values, nothing else does', (sys) => {
  using kernel = loadKernelObject(sys, spec);
  const frames = Array.from({ length: 8 }, (_, i) => frame(i));
  const k = timed(() => frames.map((f) => kernel.program('store_time').testRun({ dataIn: f })));
  let compared = 0;
  for (const engine of ['jit', 'interpreter'] as const) {
    using user = loadUserspace(spec, { engine, clock: hostClock });
    const u = timed(() => frames.map((f) => user.program('store_time').testRun({ data: f })));
    const kernelMap = kernel.map('stamps');
    const userMap = user.bpfMap('stamps');
    frames.forEach((f, i) => {
      const kd = k.value[i]!.dataOut;
      const ud = u.value[i]!.dataOut;
      assert.equal(u.value[i]!.retval, k.value[i]!.retval);
      assert.notDeepEqual(ud, kd, 'the times differ byte-wise');
      assert.ok(equalUpToClock(kd, ud, k.window, u.window), `${engine} packet ${i}: equal up to clock values`);
      // One time moved 2 s: no longer the same `now + d`.
      const moved = ud.slice();
      const v = new DataView(moved.buffer);
      v.setBigUint64(14 + 8, v.getBigUint64(14 + 8, true) + 2_000_000_000n, true);
      assert.ok(!equalUpToClock(kd, moved, k.window, u.window), `${engine} packet ${i}: a time 2 s off differs`);
      // A non-time byte changed: differs.
      const len = ud.slice();
      len[14 + 24] = len[14 + 24]! ^ 1;
      assert.ok(!equalUpToClock(kd, len, k.window, u.window), `${engine} packet ${i}: skb->len changed differs`);
      const key = new Uint8Array([i & 7, 0, 0, 0]);
      assert.ok(equalUpToClock(kernelMap.get(key)!, userMap.get(key)!, k.window, u.window), `${engine} map value ${i}`);
      compared += 2;
    });
  }
  process.stdout.write(`# clock values: ${compared} outputs (packets and map values) equal the kernel's up to clock values\n`);
});
