// Multi-buffer XDP frames in the userspace runtime against the kernel: a clang-built xdp.frags
// program reads and writes across the linear part and the fragments and moves the tail; retval,
// data_out (the linear part followed by every fragment) and ctx_out must equal the kernel's.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { kernelTest } from '../kernel/harness.js';
import { compileBpf } from '../support/clang.js';

const compile = (): Uint8Array => compileBpf(join(import.meta.dirname, 'c', 'xdp_frags.c'));

function packet(size: number, loadOff: number, storeOff: number, tail: number): Uint8Array {
  const p = Uint8Array.from({ length: size }, (_, i) => (i * 13 + 5) & 0xff);
  const v = new DataView(p.buffer);
  v.setUint32(0, loadOff, true);
  v.setUint32(4, storeOff, true);
  v.setInt32(8, tail, true);
  v.setUint32(12, 0, true);
  return p;
}

kernelTest('multi-buffer XDP frames: helpers across fragments and data_out equal the kernel', (sys) => {
  const spec = loadObject(compile(), { objectName: 'xdp_frags' });
  using kernel = loadKernelObject(sys, spec);
  using user = loadUserspace(spec);
  const linear = 3520;
  const cases: [number, number, number, number][] = [];
  for (const size of [200, 3520, 3600, 9000, 20000]) {
    for (const [load, store] of [[100, 120], [linear - 8, linear - 4], [linear + 4090, linear + 4095], [size - 16, size - 10], [size, 64], [70000, 64]]) {
      for (const tail of [0, 64, -10, -100, 600, -5000, 4000, -(size - 14), -(size - 13)]) cases.push([size, load!, store!, tail]);
    }
  }
  let frames = 0;
  for (const [size, load, store, tail] of cases) {
    const data = packet(size, load, store, tail);
    const label = `size ${size} load ${load} store ${store} tail ${tail}`;
    const k = kernel.program('xdp_frags').testRun({ dataIn: data, dataOutSize: 128 * 1024 });
    const u = user.program('xdp_frags').testRun({ data });
    assert.equal(u.retval, k.retval, `${label}: retval`);
    assert.equal(u.dataOut.length, k.dataOut.length, `${label}: data_out length`);
    assert.deepEqual(u.dataOut, k.dataOut, `${label}: data_out`);
    if (size > linear) frames++;
  }
  assert.ok(frames > 100, `${frames} multi-buffer cases`);
});
