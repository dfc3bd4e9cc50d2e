// csum_level, csum_update, skb_change_type, skb_ecn_set_ce and the classid/realm queries vs the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, call, exit, type Instruction, ldx, program, r0, r1, r2, r6, r7 } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcOps } from '../../src/ctx/tc.js';
import { createVm } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { rng } from '../vm/oracle.js';
import { frame, kernelRun, summary, vmRun } from './oracle.js';

/** Calls `helper(ctx, arg)` for each arg, folding results into r7 (r7 = r7 * 31 + r0); returns r7. */
function sequence(helper: 'csum_level' | 'skb_change_type' | 'csum_update', args: readonly number[], field?: number): Instruction[] {
  const body: Instruction[] = [alu64.mov.reg(r6, r1), alu64.mov.imm(r7, 0)];
  for (const a of args) body.push(alu64.mov.reg(r1, r6), alu64.mov.imm(r2, a), call.helper(helper), alu64.mul.imm(r7, 31), alu64.add.reg(r7, r0));
  if (field !== undefined) body.push(ldx.w(r0, r6, field), alu64.lsh.imm(r0, 24), alu64.add.reg(r7, r0));
  body.push(alu64.mov.reg(r0, r7), exit());
  return program(...body);
}

kernelTest('csum_level, csum_update, skb_change_type, skb_ecn_set_ce and classid/realm agree with the kernel', (sys) => {
  const diffs: string[] = [];
  let compared = 0;
  const check = (name: string, insns: Instruction[], data: Uint8Array): void => {
    const k = summary(kernelRun(sys, tcOps, insns, data));
    const m = summary(vmRun(tcOps, insns, data, undefined, { env: createHelperEnv() }));
    compared++;
    if (k !== m) diffs.push(`${name}:\n  kernel ${k.slice(0, 200)}\n  bpfkit ${m.slice(0, 200)}`);
  };
  const host = frame([0, 0, 0, 0, 0, 0], 0x0806, 28);
  const other = frame([2, 0, 0, 0, 0, 1], 0x0806, 28);
  const multi = frame([1, 0, 0x5e, 0, 0, 1], 0x0806, 28);
  const Q = 0, INC = 1, DEC = 2, RESET = 3;
  for (const seq of [[Q], [INC, Q], [INC, INC, INC, INC, INC, Q], [INC, INC, DEC, Q], [DEC, Q], [INC, DEC, DEC, Q], [INC, RESET, Q], [4], [INC, 9, Q]]) {
    check(`csum_level ${seq.join(',')}`, sequence('csum_level', seq), host);
  }
  check('csum_update', sequence('csum_update', [0x1234]), host);
  for (const data of [host, other, multi]) for (const t of [0, 1, 2, 3, 4, 7]) check(`change_type ${t}`, sequence('skb_change_type', [t], SkBuff.pkt_type), data);
  for (const helper of ['get_cgroup_classid', 'skb_cgroup_classid', 'get_route_realm', 'get_socket_uid', 'get_numa_node_id'] as const) check(helper, program(call.helper(helper), exit()), host);

  /** Returns skb->hash ^ (the last helper's result << 24). */
  const hashThen = (calls: Instruction[]) => program(alu64.mov.reg(r6, r1), ...calls, ldx.w(r2, r6, SkBuff.hash), alu64.lsh.imm(r0, 24), alu64.xor.reg(r0, r2), exit());
  const setHash = (h: number) => [alu64.mov.reg(r1, r6), alu64.mov.imm(r2, h), call.helper('set_hash')];
  check('set_hash', hashThen(setHash(0x1234)), host);
  check('set_hash, set_hash_invalid', hashThen([...setHash(0x1234), alu64.mov.reg(r1, r6), call.helper('set_hash_invalid')]), host);
  for (const n of [0, 10, host.length, host.length + 1]) check(`pull_data ${n}`, program(alu64.mov.imm(r2, n), call.helper('skb_pull_data'), exit()), host);
  const rand = rng(3);
  const ecn = program(alu64.mov.reg(r6, r1), call.helper('skb_ecn_set_ce'), exit());
  for (let i = 0; i < 48; i++) {
    const kind = i % 4;
    let data: Uint8Array;
    if (kind === 0 || kind === 3) {
      const ip = new Uint8Array(40).map(() => rand() & 0xff);
      ip[0] = 0x45;
      data = frame([0, 0, 0, 0, 0, 0], kind === 3 ? 0x8100 : 0x0800, kind === 3 ? new Uint8Array([0, 5, 8, 0, ...ip]) : ip);
    } else if (kind === 1) {
      const ip = new Uint8Array(60).map(() => rand() & 0xff);
      ip[0] = 0x60 | (ip[0]! & 0x0f);
      data = frame([0, 0, 0, 0, 0, 0], 0x86dd, ip);
    } else data = frame([0, 0, 0, 0, 0, 0], 0x0806, new Uint8Array(28).map(() => rand() & 0xff));
    check(`ecn_set_ce kind ${kind} #${i}`, ecn, data);
  }
  process.stdout.write(`# skb misc helpers: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});

test('bpf_get_socket_cookie: one cookie per run (the same on every call), a new one each run', () => {
  const env = createHelperEnv();
  const twice = program(alu64.mov.reg(r6, r1), call.helper('get_socket_cookie'), alu64.mov.reg(r7, r0), alu64.mov.reg(r1, r6), call.helper('get_socket_cookie'), alu64.lsh.imm(r0, 16), alu64.or.reg(r0, r7), exit());
  const vm = createVm(twice, { env, programType: tcOps });
  const host = frame([0, 0, 0, 0, 0, 0], 0x0806, 28);
  assert.equal(vm.run(undefined, host).retval, (1 << 16) | 1);
  assert.equal(vm.run(undefined, host).retval, (2 << 16) | 2);
});
