// LD_ABS / LD_IND through the skb contexts (tc: skb->data at the Ethernet header; socket filter:
// past it), including the SKF_NET_OFF / SKF_LL_OFF bases and every out-of-bounds edge, vs the kernel.
import assert from 'node:assert/strict';
import { alu64, exit, ld, program, r0, r1, r6, r7 } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { socketFilterOps } from '../../src/ctx/socket-filter.js';
import { tcOps } from '../../src/ctx/tc.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRun, summary, vmRun } from './oracle.js';

const SKF_NET_OFF = -0x100000;
const SKF_LL_OFF = -0x200000;

kernelTest('LD_ABS / LD_IND in tc and socket filters, with SKF_NET_OFF / SKF_LL_OFF, at every edge', (sys) => {
  const diffs: string[] = [];
  let compared = 0;
  const data = frame([0x02, 1, 2, 3, 4, 5], 0x0800, 46).map((x, i) => (i < 14 ? x : (i * 29 + 1) & 0xff));
  const len = data.length;
  for (const ops of [tcOps, socketFilterOps]) {
    const offsets = [0, 1, 2, 12, 13, 14, 40, len - 18, len - 15, len - 14, len - 4, len - 3, len - 2, len - 1, len, SKF_NET_OFF, SKF_NET_OFF + 9, SKF_NET_OFF + len - 16, SKF_NET_OFF + len - 14, SKF_LL_OFF, SKF_LL_OFF + 6, SKF_LL_OFF + 12, SKF_LL_OFF + len - 4, SKF_LL_OFF - 1, SKF_NET_OFF - 1, -1, -14];
    for (const k of offsets) {
      for (const size of ['b', 'h', 'w'] as const) {
        const abs = program(alu64.mov.reg(r6, r1), alu64.mov.imm(r0, 0x77), ld.abs[size](k), exit());
        const ind = program(alu64.mov.reg(r6, r1), alu64.mov.imm(r7, 3), ld.ind[size](r7, k - 3), exit());
        for (const [name, insns] of [['abs', abs], ['ind', ind]] as const) {
          const kr = summary(kernelRun(sys, ops, insns, data));
          const mr = summary(vmRun(ops, insns, data, undefined, { env: createHelperEnv() }));
          compared++;
          if (kr !== mr) diffs.push(`${ops.name} ld.${name}.${size} ${k}: kernel ${kr.slice(0, 24)}, bpfkit ${mr.slice(0, 24)}`);
        }
      }
    }
  }
  process.stdout.write(`# LD_ABS/LD_IND: ${compared} cases compared with the kernel\n`);
  assert.deepEqual(diffs, []);
});
