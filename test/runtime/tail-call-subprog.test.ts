// A tail call made inside a BPF-to-BPF subprogram: bpfkit and the kernel (JIT) agree that the
// target's exit returns to the subprogram's caller, and that an empty slot falls through.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { kernelTest } from '../kernel/harness.js';
import { compileBpf } from '../support/clang.js';

const compile = (): Uint8Array => compileBpf(join(import.meta.dirname, 'c', 'tail_subprog.c'));

kernelTest('a tail call from a subprogram returns to its caller, as in the kernel', (sys) => {
  const spec = loadObject(compile(), { objectName: 'tail_subprog' });
  using kernel = loadKernelObject(sys, spec);
  using user = loadUserspace(spec);
  const seen: number[] = [];
  for (const first of [0, 1, 2, 3]) {
    const data = new Uint8Array(60);
    data[0] = first;
    const k = kernel.program('xdp_tail_subprog').testRun({ dataIn: data }).retval;
    const u = user.program('xdp_tail_subprog').testRun({ data }).retval;
    assert.equal(u, k, `first byte ${first}: bpfkit ${u}, kernel ${k}`);
    seen.push(k);
    // Run twice: the second run starts at the entry program again.
    assert.equal(user.program('xdp_tail_subprog').testRun({ data }).retval, k);
  }
  // Even slots reach `target` (XDP_TX + 10 on return to the caller), odd ones fall through (XDP_PASS).
  assert.deepEqual(seen, [13, 2, 13, 2]);
});
