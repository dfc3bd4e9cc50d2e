// bpf_get_ns_current_pid_tgid against the kernel: the test run's current task is this process, so a
// task model of this process with its pid namespace (stat /proc/self/ns/pid) must answer as the kernel.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { alu64, call, encode, exit, type Instruction, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r6, r7, r10, stx } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

const DEV = 16;
const INO = 24;
const OUT = 40;

/** r0 = bpf_get_ns_current_pid_tgid(dev, ino, fp-16 (pre-filled 0xaa), size); r0 and the 16 bytes written at OUT. */
function pidnsProgram(size: number): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1), ldx.w(r7, r6, 0), ldx.w(r3, r6, 4), alu64.mov.reg(r4, r7), alu64.add.imm(r4, OUT + 24), alu64.mov.imm(r0, 1), jmp.jgt.reg(r4, r3, 'out'),
    ld.imm64(r4, 0xaaaaaaaaaaaaaaaan), stx.dw(r10, -16, r4), stx.dw(r10, -8, r4),
    ldx.dw(r1, r7, DEV), ldx.dw(r2, r7, INO), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -16), alu64.mov.imm(r4, size), call.helper('get_ns_current_pid_tgid'),
    stx.dw(r7, OUT, r0), ldx.dw(r4, r10, -16), stx.dw(r7, OUT + 8, r4), ldx.dw(r4, r10, -8), stx.dw(r7, OUT + 16, r4),
    alu64.mov.imm(r0, 2), label('out'), exit(),
  );
}

kernelTest('bpf_get_ns_current_pid_tgid: the task model of this process answers as the kernel', (sys) => {
  const st = statSync('/proc/self/ns/pid', { bigint: true });
  const env = createHelperEnv({ task: { pid: process.pid, tgid: process.pid, uid: 0, gid: 0, comm: '', pidNamespace: { dev: st.dev, ino: st.ino } } });
  const diffs: string[] = [];
  let compared = 0;
  let matched = 0;
  for (const size of [8, 4, 12, 16]) {
    const insns = pidnsProgram(size);
    using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_pidns' });
    for (const [dev, ino] of [[st.dev, st.ino], [st.dev, st.ino + 1n], [st.dev + 1n, st.ino], [st.dev | (1n << 32n), st.ino], [0n, 0n]] as const) {
      const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, 60);
      new DataView(data.buffer).setBigUint64(DEV, dev, true);
      new DataView(data.buffer).setBigUint64(INO, ino, true);
      const k = summary(kernelRunLoaded(prog, xdpOps, data));
      const m = summary(vmRun(xdpOps, insns, data, undefined, { env }));
      compared++;
      if (k.includes(`data ${Buffer.from(data.subarray(0, OUT)).toString('hex')}0000000000000000`)) matched++;
      if (k !== m) diffs.push(`size ${size} dev ${dev} ino ${ino}: kernel ${k.slice(OUT * 2 + 20, OUT * 2 + 70)} bpfkit ${m.slice(OUT * 2 + 20, OUT * 2 + 70)}`);
    }
  }
  process.stdout.write(`# get_ns_current_pid_tgid: ${compared} calls compared with the kernel (${matched} in this namespace), ${diffs.length} mismatches\n`);
  assert.equal(matched, 1, 'exactly the call with this namespace and size 8 succeeds');
  assert.deepEqual(diffs, []);
});
