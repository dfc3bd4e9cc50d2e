// The library from plain Node 20 JavaScript (no TypeScript, no `using`): verify, run in userspace,
// then load into the kernel and run the same packet there. Run: node examples/library.mjs
// (after `npm install`, which builds dist/; the kernel part needs root and is skipped otherwise).
import { readFileSync } from 'node:fs';
import { loadObject, loadUserspace, verifyProgram } from 'bpfkit';

const spec = loadObject(readFileSync(new URL('./xdp_stats.o', import.meta.url)), { objectName: 'xdp_stats' });
// An Ethernet + IPv4 + UDP frame (port 53).
const packet = Uint8Array.from([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 8, 0, 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0, 53, 0, 53, 0, 8, 0, 0]);

// Verify, as the kernel would: verdict, message, C line, hint.
const v = verifyProgram(spec.programs[0], spec);
console.log(`verify: ${v.verdict}, ${v.processedInsns} insns processed`);

// Run in userspace (any OS, or a browser): the results of BPF_PROG_TEST_RUN.
const user = loadUserspace(spec, { cpus: 2 });
try {
  const r = user.program('xdp_stats_prog').testRun({ data: packet });
  const perCpu = user.bpfMap('xdp_stats_map').getPerCpu(new Uint8Array([2, 0, 0, 0]));
  console.log(`userspace: retval ${r.retval}, XDP_PASS counter on CPU 0: ${new DataView(perCpu[0].buffer, perCpu[0].byteOffset).getBigUint64(0, true)}`);
} finally {
  user.close();
}

// Deploy to the kernel: the same map API (Linux, root; koffi is the FFI).
if (process.getuid?.() === 0) {
  const { createKernelSys, loadKernelObject } = await import('bpfkit/kernel');
  const obj = loadKernelObject(createKernelSys(), spec);
  try {
    const r = obj.program('xdp_stats_prog').testRun({ dataIn: packet });
    const perCpu = obj.map('xdp_stats_map').getPerCpu(new Uint8Array([2, 0, 0, 0]));
    const total = perCpu.reduce((s, v) => s + new DataView(v.buffer, v.byteOffset).getBigUint64(0, true), 0n);
    console.log(`kernel: retval ${r.retval}, XDP_PASS counter summed over CPUs: ${total}`);
  } finally {
    obj.close();
  }
}
