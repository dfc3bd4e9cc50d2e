// __sk_buff.sk: the test run's socket — every load the kernel's verifier accepts through it, on IPv4, IPv6 and ARP frames.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, encode, exit, jmp, label, ldx, ldxs, program, r0, r1, r2 } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { socketFilterOps } from '../../src/ctx/socket-filter.js';
import { tcOps } from '../../src/ctx/tc.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { probeKernelTraits } from '../../src/kernel/kernel-traits.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

const SIZES = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;

kernelTest('__sk_buff.sk: every field load the verifier accepts reads what the kernel reads', (sys) => {
  const ip4 = new Uint8Array(40).map((_, i) => i + 1);
  ip4[0] = 0x45;
  const ip6 = new Uint8Array(60).map((_, i) => 0x80 + i);
  ip6[0] = 0x60;
  const frames = [frame([0, 0, 0, 0, 0, 0], 0x0800, ip4), frame([0, 0, 0, 0, 0, 0], 0x86dd, ip6), frame([0, 0, 0, 0, 0, 0], 0x0806, 28)];
  // rx_queue_mapping's NO_QUEUE_MAPPING reads differently on different builds: ask this one.
  const kernel = probeKernelTraits(sys);
  const diffs: string[] = [];
  let accepted = 0;
  let compared = 0;
  for (const ops of [tcOps, socketFilterOps]) {
    for (let off = 0; off < 80; off++) {
      for (const size of [1, 2, 4, 8] as const) {
        for (const sx of [false, true]) {
          if (sx && size === 8) continue;
          const s = SIZES[size];
          const load = sx && s !== 'dw' ? ldxs[s](r0, r2, off) : ldx[s](r0, r2, off);
          const insns = program(ldx.dw(r2, r1, SkBuff.sk), alu64.mov.imm(r0, 0xdead), jmp.jeq.imm(r2, 0, 'out'), load, alu64.rsh.imm(r0, 8), label('out'), exit());
          let prog;
          try {
            prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_sock' });
          } catch (err) {
            if (err instanceof VerifierError) continue;
            throw err;
          }
          accepted++;
          try {
            for (const f of frames) {
              const k = summary(kernelRunLoaded(prog, ops, f));
              const m = summary(vmRun(ops, insns, f, undefined, { env: createHelperEnv(), kernel }));
              compared++;
              if (k !== m) diffs.push(`${ops.name} sk+${off}/${size}${sx ? ' sx' : ''} on ${f[12]!.toString(16)}${f[13]!.toString(16)}: kernel ${k.slice(0, 20)}, bpfkit ${m.slice(0, 20)}`);
            }
          } finally {
            prog.close();
          }
        }
      }
    }
  }
  process.stdout.write(`# skb->sk: ${accepted} loads the verifier accepts, ${compared} runs compared with the kernel (rx_queue_mapping read: ${kernel.sockRxQueueMapping})\n`);
  assert.ok(accepted > 0);
  assert.deepEqual(diffs, []);
});

test('rx_queue_mapping: both kernel builds, 2- and 4-byte loads of NO_QUEUE_MAPPING', () => {
  const f = frame([0, 0, 0, 0, 0, 0], 0x0800, new Uint8Array(20).fill(0x45, 0, 1));
  const read = (size: 'h' | 'w', sockRxQueueMapping: 'u32' | 's64', shift: number) => {
    const insns = program(ldx.dw(r2, r1, SkBuff.sk), alu64.mov.imm(r0, 0xdead), jmp.jeq.imm(r2, 0, 'out'), ldx[size](r0, r2, 76), alu64.rsh.imm(r0, shift), label('out'), exit());
    const o = vmRun(tcOps, insns, f, undefined, { env: createHelperEnv(), kernel: { sockRxQueueMapping } });
    assert.ok('retval' in o);
    return o.retval >>> 0;
  };
  // 'u32': w = -1 then the narrow mask; 's64': r = -1.
  assert.deepEqual([read('w', 'u32', 0), read('w', 'u32', 32), read('h', 'u32', 0), read('h', 'u32', 8)], [0xffffffff, 0, 0xffff, 0xff]);
  assert.deepEqual([read('w', 's64', 0), read('w', 's64', 32), read('h', 's64', 0), read('h', 's64', 8)], [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff]);
});
