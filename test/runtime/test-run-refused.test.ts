// Test runs the kernel refuses are refused in userspace too: an xdp/cpumap or xdp/devmap program (EINVAL in BPF_PROG_TEST_RUN).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { TestRunRefusedError } from '../../src/runtime/errors.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { kernelTest } from '../kernel/harness.js';
import { compileBpf } from '../support/clang.js';

const SRC = `#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
SEC("xdp/cpumap") int on_cpu(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp/devmap") int on_dev(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") int plain(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";`;

kernelTest('xdp/cpumap and xdp/devmap programs: the kernel refuses their test run (EINVAL) and so does userspace; plain xdp runs in both', (sys) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-refused-'));
  try {
    writeFileSync(path.join(dir, 'second_stage.c'), SRC);
    const spec = loadObject(compileBpf(path.join(dir, 'second_stage.c')));
    const frame = new Uint8Array(60);
    frame[12] = 0x08;
    const user = loadUserspace(spec);
    using kernel = loadKernelObject(sys, spec);
    try {
      for (const name of ['on_cpu', 'on_dev']) {
        assert.throws(() => kernel.program(name).testRun({ dataIn: frame }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL', `kernel ${name}`);
        assert.throws(() => user.program(name).testRun({ data: frame }), (e: unknown) => e instanceof TestRunRefusedError && e.code === 'ERR_TEST_RUN_REFUSED', `userspace ${name}`);
      }
      assert.equal(kernel.program('plain').testRun({ dataIn: frame }).retval, 2);
      assert.equal(user.program('plain').testRun({ data: frame }).retval, 2);
    } finally {
      user.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
