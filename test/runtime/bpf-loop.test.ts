// bpf_loop in the userspace runtime against the kernel: iteration counts, early stop, the
// callback's stack and map writes, and the -EINVAL / -E2BIG returns, compared on data_out and maps.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { kernelTest } from '../kernel/harness.js';
import { compileBpf } from '../support/clang.js';

const compile = (): Uint8Array => compileBpf(join(import.meta.dirname, 'c', 'bpf_loop.c'));

function packet(n: number, stopAt: number, flags: number): Uint8Array {
  const p = new Uint8Array(64);
  new DataView(p.buffer).setUint32(0, n >>> 0, true);
  p[4] = stopAt;
  p[5] = flags;
  return p;
}

kernelTest('bpf_loop runs its callback as the kernel does', (sys) => {
  const spec = loadObject(compile(), { objectName: 'bpf_loop' });
  using kernel = loadKernelObject(sys, spec);
  using user = loadUserspace(spec);
  const key = new Uint8Array(4);
  const cases: [number, number, number][] = [
    [0, 0, 0], // no calls
    [5, 200, 0], // all five
    [10, 3, 0], // stops after i == 3: returns 4
    [1, 0, 0], // stops at once: returns 1
    [300, 255, 0], // 256 calls, stops at 255
    [3, 9, 1], // flags: -EINVAL, no call
    [(1 << 23) + 1, 0, 0], // above BPF_MAX_LOOPS: -E2BIG
  ];
  const results: bigint[] = [];
  for (const [n, stop, flags] of cases) {
    const data = packet(n, stop, flags);
    const k = kernel.program('xdp_loop').testRun({ dataIn: data });
    const u = user.program('xdp_loop').testRun({ data });
    assert.equal(u.retval, k.retval, `n=${n} stop=${stop} flags=${flags}: retval`);
    assert.deepEqual(u.dataOut, k.dataOut, `n=${n} stop=${stop} flags=${flags}: data_out`);
    assert.deepEqual(user.map('calls').read(key), kernel.map('calls').get(key), `n=${n}: calls map`);
    results.push(new DataView(k.dataOut.buffer, k.dataOut.byteOffset).getBigInt64(8, true));
  }
  // The kernel's answers, so a wrong oracle setup cannot pass silently.
  assert.deepEqual(results, [0n, 5n, 4n, 1n, 256n, -22n, -7n]);
});

kernelTest('bpf_for_each_map_elem walks arrays and hashes as the kernel does', (sys) => {
  const spec = loadObject(compile(), { objectName: 'bpf_loop' });
  using kernel = loadKernelObject(sys, spec);
  using user = loadUserspace(spec);
  const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
  const u64 = (n: number) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer);
  // The same hash contents, inserted in the same order on both sides.
  for (const k of [7, 1, 42, 13, 99, 5, 250, 64, 3, 17]) {
    kernel.map('flows').set(u32(k), u64(k * 3));
    user.map('flows').write(u32(k), u64(k * 3), 0);
  }
  const walks: number[] = [];
  // stop key in the array, stop key in the hash, flags of the hash walk
  for (const [sa, sh, flags] of [[255, 255, 0], [2, 13, 0], [0, 7, 0], [7, 3, 0], [255, 255, 1]] as const) {
    const data = new Uint8Array(64);
    data[0] = sa;
    data[1] = sh;
    data[2] = flags;
    const k = kernel.program('xdp_for_each').testRun({ dataIn: data });
    const u = user.program('xdp_for_each').testRun({ data });
    const label = `stop ${sa}/${sh} flags ${flags}`;
    assert.equal(u.retval, k.retval, `${label}: retval`);
    assert.deepEqual(u.dataOut, k.dataOut, `${label}: data_out`);
    for (const name of ['slots', 'flows']) {
      for (const key of kernel.map(name).keys()) {
        assert.deepEqual(user.map(name).read(key), kernel.map(name).get(key), `${label}: ${name}[${new Uint32Array(key.buffer)[0]}]`);
      }
    }
    const out = new DataView(k.dataOut.buffer, k.dataOut.byteOffset);
    walks.push(Number(out.getBigInt64(8, true)), Number(out.getBigInt64(24, true)));
  }
  // The kernel's element counts: the whole array (8) / hash (10), early stops, -EINVAL for flags.
  assert.deepEqual(walks.slice(0, 2), [8, 10]);
  assert.equal(walks[2], 3);
  assert.equal(walks[9], -22);
});
