// Cgroup ids against the kernel: the test run's current task is this process and its skb->sk is
// charged to this process's cgroup, so a task model of this process (its cgroup v2 chain read
// from /proc/self/cgroup and the cgroup2 mount) must give the kernel's ids at every level.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { alu64, call, encode, exit, type Instruction, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r6, r7, stx } from '../../src/isa/index.js';
import { cgroupSkbOps } from '../../src/ctx/cgroup-skb.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcOps } from '../../src/ctx/tc.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

const LEVELS = [-1, 0, 1, 2, 3, 7, 0x7fffffff];
const OUT = 16;

/** Every cgroup-id helper (and each ancestor level) called in turn, each r0 stored at OUT + 8 * i. */
function cgroupProgram(): Instruction[] {
  const body: (Instruction | ReturnType<typeof label>)[] = [alu64.mov.reg(r6, r1), ldx.w(r7, r6, SkBuff.data), ldx.w(r3, r6, SkBuff.data_end), alu64.mov.reg(r4, r7), alu64.add.imm(r4, OUT + 8 * (2 + 2 * LEVELS.length)), alu64.mov.imm(r0, 1), jmp.jgt.reg(r4, r3, 'out')];
  let at = OUT;
  const store = () => {
    body.push(stx.dw(r7, at, r0));
    at += 8;
  };
  body.push(call.helper('get_current_cgroup_id'));
  store();
  body.push(alu64.mov.reg(r1, r6), call.helper('skb_cgroup_id'));
  store();
  for (const level of LEVELS) {
    body.push(alu64.mov.imm(r1, level), call.helper('get_current_ancestor_cgroup_id'));
    store();
    body.push(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, level), call.helper('skb_ancestor_cgroup_id'));
    store();
  }
  body.push(alu64.mov.imm(r0, 0), label('out'), exit());
  return program(...body);
}

/** This process's cgroup v2 ids from the root down, or undefined without a cgroup2 mount. */
function cgroupChain(): bigint[] | undefined {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  if (!mount || !line) return undefined;
  const root = mount[4]!;
  const parts = line.slice(3).split('/').filter(Boolean);
  return [root, ...parts.map((_, i) => join(root, ...parts.slice(0, i + 1)))].map((p) => statSync(p, { bigint: true }).ino);
}

/** The cgroup2 mount point and this process's cgroup path in it. */
function cgroupPlace(): { root: string; path: string } | undefined {
  const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2');
  const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
  return mount && line ? { root: mount[4]!, path: line.slice(3) } : undefined;
}

kernelTest('cgroup ids: a task model of this process answers as the kernel at every ancestor level', (sys, t) => {
  const place = cgroupPlace();
  if (!place) return t.skip('no cgroup2 hierarchy mounted: the kernel reports no cgroup v2 ids to compare with');
  compareCgroupIds(sys);
  compareSockCgroupIds(sys);
  // Again two levels down: this process moved into a cgroup of its own for the comparison, and back.
  const top = join(place.root, `bpfkit-cg-${process.pid}`);
  const leaf = join(top, 'leaf');
  try {
    mkdirSync(leaf, { recursive: true });
    writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid));
  } catch (e) {
    try { rmdirSync(leaf); rmdirSync(top); } catch { /* not created */ }
    return t.skip(`cannot create and enter a cgroup here (${(e as Error).message})`);
  }
  try {
    compareCgroupIds(sys, 2);
    compareSockCgroupIds(sys);
  } finally {
    writeFileSync(join(place.root, place.path, 'cgroup.procs'), String(process.pid));
    rmdirSync(leaf);
    rmdirSync(top);
  }
});

function compareCgroupIds(sys: Parameters<typeof loadProgram>[0], minDepth = 0): void {
  const chain = cgroupChain()!;
  assert.ok(chain.length - 1 >= minDepth, `this process is ${chain.length - 1} levels deep`);
  const env = createHelperEnv({ task: { pid: process.pid, tgid: process.pid, uid: 0, gid: 0, comm: '', cgroupId: chain.at(-1)!, cgroupAncestors: chain } });
  const insns = cgroupProgram();
  using prog = loadProgram(sys, { type: tcOps.type, insns: encode(insns), license: 'GPL', name: 'bk_cgroup' });
  const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, 300);
  const k = summary(kernelRunLoaded(prog, tcOps, data));
  const m = summary(vmRun(tcOps, insns, data, undefined, { env }));
  process.stdout.write(`# cgroup ids: ${2 + 2 * LEVELS.length} calls compared with the kernel (this process is ${chain.length - 1} levels below the root)\n`);
  assert.equal(m, k);
  assert.match(k, new RegExp(`data ${Buffer.from(data.subarray(0, OUT)).toString('hex')}${Buffer.from(new BigUint64Array([chain.at(-1)!]).buffer).toString('hex')}`), 'the kernel reports this cgroup');
}

/**
 * cgroup_skb: bpf_sk_cgroup_id(skb->sk) and bpf_sk_ancestor_cgroup_id(skb->sk, level) compared
 * with `expect` in the program (cgroup_skb may only return 0 or 1): 1 when equal, 0 when not.
 */
function sockCgroupProgram(level: number | undefined, expect: bigint): Instruction[] {
  return program(
    ldx.dw(r2, r1, SkBuff.sk), alu64.mov.imm(r0, 0), jmp.jeq.imm(r2, 0, 'out'),
    alu64.mov.reg(r1, r2),
    ...(level === undefined ? [call.helper('sk_cgroup_id')] : [alu64.mov.imm(r2, level), call.helper('sk_ancestor_cgroup_id')]),
    ld.imm64(r3, expect), alu64.mov.reg(r4, r0), alu64.mov.imm(r0, 1), jmp.jeq.reg(r4, r3, 'out'), alu64.mov.imm(r0, 0),
    label('out'), exit(),
  );
}

function compareSockCgroupIds(sys: Parameters<typeof loadProgram>[0]): void {
  const chain = cgroupChain()!;
  const env = createHelperEnv({ task: { pid: process.pid, tgid: process.pid, uid: 0, gid: 0, comm: '', cgroupId: chain.at(-1)!, cgroupAncestors: chain } });
  const data = frame([0, 0, 0, 0, 0, 0], 0x0800, 60).subarray(14);
  let ones = 0;
  let compared = 0;
  for (const level of [undefined, ...LEVELS]) {
    const right = level === undefined ? chain.at(-1)! : level >= 0 && level < chain.length ? chain[level]! : 0n;
    for (const expect of [right, right + 1n, 0n]) {
      const insns = sockCgroupProgram(level, expect);
      using prog = loadProgram(sys, { type: cgroupSkbOps.type, insns: encode(insns), license: 'GPL', name: 'bk_sk_cgroup' });
      const k = summary(kernelRunLoaded(prog, cgroupSkbOps, data));
      assert.equal(summary(vmRun(cgroupSkbOps, insns, data, undefined, { env })), k, `level ${level}, expect ${expect}`);
      if (k.startsWith('retval 1 ')) ones++;
      compared++;
    }
  }
  // Each level's right answer gives 1 in the kernel (and 0 equals 0 past the chain, counted twice there).
  assert.ok(ones >= LEVELS.length + 1, `${ones} of ${compared} matched the expected id in the kernel`);
  process.stdout.write(`# cgroup_skb sk cgroup ids: ${compared} runs equal the kernel (${ones} where the id was the expected one)\n`);
}
