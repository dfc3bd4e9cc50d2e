// bpf_skb_under_cgroup against the kernel: a cgroup array holding the root cgroup, this process's cgroup and a sibling
// (kernel: their fds; userspace: their ids), an empty slot and indexes past the end; the test run's skb is this
// process's, so a task model of this process must give the kernel's answer for every index.
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { alu64, call, encode, exit, jmp, label, ld, ldx, program, r0, r1, r2, r3, r6, r7, type Instruction } from '../../src/isa/index.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcOps } from '../../src/ctx/tc.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { updateElem } from '../../src/kernel/bpf/map-elem.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace, createVm } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { frame } from './oracle.js';

/** r0 = bpf_skb_under_cgroup(skb, map, data[14]) (the first byte after the Ethernet header). */
function underCgroupProgram(fd: number): Instruction[] {
  return program(
    alu64.mov.reg(r6, r1),
    ldx.w(r7, r6, SkBuff.data),
    ldx.w(r3, r6, SkBuff.data_end),
    alu64.mov.reg(r2, r7),
    alu64.add.imm(r2, 15),
    alu64.mov.imm(r0, 0xdead),
    jmp.jgt.reg(r2, r3, 'out'),
    ldx.b(r3, r7, 14),
    alu64.mov.reg(r1, r6),
    ld.map_fd(r2, fd),
    call.helper('skb_under_cgroup'),
    label('out'),
    exit(),
  );
}

/** The cgroup2 mount and this process's cgroup directories from the root down, or undefined without cgroup2. */
function cgroupDirs(): { root: string; chain: string[] } | undefined {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  if (!mount || !line) return undefined;
  const root = mount[4]!;
  const parts = line.slice(3).split('/').filter(Boolean);
  return { root, chain: [root, ...parts.map((_, i) => join(root, ...parts.slice(0, i + 1)))] };
}

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

kernelTest('bpf_skb_under_cgroup: a cgroup array and a task model of this process answer as the kernel', (sys, t) => {
  const dirs = cgroupDirs();
  if (!dirs) return t.skip('no cgroup2 hierarchy mounted: the kernel has no cgroup v2 ancestry to compare with');
  const sibling = join(dirs.root, `bpfkit-uc-${process.pid}`);
  mkdirSync(sibling);
  const opened: number[] = [];
  try {
    // Slots: 0 the root, 1 this process's cgroup, 2 a cgroup that is not an ancestor, 3 empty.
    const slots = [dirs.root, dirs.chain.at(-1)!, sibling];
    const ids = dirs.chain.map((d) => statSync(d, { bigint: true }).ino);
    using fd = createKernelMap(sys, { type: BpfMapType.CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4 });
    const space = new AddressSpace();
    const map = createMap({ name: 'cg', type: BpfMapType.CGROUP_ARRAY, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, { space, cpus: 1 });
    slots.forEach((dir, i) => {
      const cg = openSync(dir, 'r');
      opened.push(cg);
      updateElem(fd, u32(i), u32(cg));
      assert.equal(map.write(u32(i), u32(Number(statSync(dir).ino)), 0), 0);
    });
    const insns = underCgroupProgram(fd.raw);
    using prog = loadProgram(sys, { type: tcOps.type, insns: encode(insns), license: 'GPL', name: 'bk_under_cg' });
    const env = createHelperEnv({
      task: { pid: process.pid, tgid: process.pid, uid: 0, gid: 0, comm: '', cgroupId: ids.at(-1)!, cgroupAncestors: ids },
      mapByAddress: (a) => (a === map.address ? map : undefined),
    });
    const vm = createVm(insns, { space, env, programType: tcOps, resolve: () => ({ lo: map.address | 0, hi: Math.floor(map.address / 4294967296) }) });
    const answers: string[] = [];
    for (const index of [0, 1, 2, 3, 4, 200]) {
      const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, new Uint8Array([index, 0, 0, 0]));
      const k = testRun(prog, { dataIn: data }).retval;
      const m = vm.run(undefined, data).retval;
      assert.equal(m, k, `index ${index}: bpfkit ${m | 0}, kernel ${k | 0}`);
      answers.push(`${index}:${k | 0}`);
    }
    // The kernel's own answers: root and own cgroup 1, sibling 0, empty -EAGAIN, past the end -E2BIG.
    assert.deepEqual(answers, ['0:1', '1:1', '2:0', '3:-11', '4:-7', '200:-7']);
    process.stdout.write(`# skb_under_cgroup: 6 indexes compared with the kernel (${answers.join(' ')})\n`);
  } finally {
    for (const cg of opened) closeSync(cg);
    rmdirSync(sibling);
  }
});

kernelTest('cgroup array definitions: userspace accepts exactly what BPF_MAP_CREATE accepts (each flag bit, key/value sizes, max_entries 0)', (sys) => {
  let compared = 0;
  for (let bit = 0; bit < 20; bit++) {
    for (const [keySize, valueSize, maxEntries] of [[4, 4, 4], [4, 8, 4], [8, 4, 4], [4, 4, 0]] as const) {
      const flags = 2 ** bit;
      const numa = flags === 4 ? { numaNode: 0 } : {};
      let kernel = true;
      try {
        createKernelMap(sys, { type: BpfMapType.CGROUP_ARRAY, keySize, valueSize, maxEntries, flags, ...numa }).close();
      } catch {
        kernel = false;
      }
      let user = true;
      try {
        createMap({ name: 'cg', type: BpfMapType.CGROUP_ARRAY, keySize, valueSize, maxEntries, flags, ...numa }, { space: new AddressSpace(), cpus: 1 });
      } catch {
        user = false;
      }
      assert.equal(user, kernel, `flags 0x${flags.toString(16)} key ${keySize} value ${valueSize} max_entries ${maxEntries}: bpfkit ${user}, kernel ${kernel}`);
      compared++;
    }
  }
  process.stdout.write(`# cgroup array definitions: ${compared} compared with BPF_MAP_CREATE\n`);
});
