// bpf_strtol and bpf_strtoul against the kernel: return value (characters consumed or -EINVAL /
// -ERANGE) and the result slot, over curated and random strings, buffer lengths and flags.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, type Instruction, jmp, label, ldx, program, r0, r1, r2, r3, r4, r6, r7, r10, st, stx } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { kernelTest } from '../kernel/harness.js';
import { rng } from '../vm/oracle.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

const FLAGS = 16;
const BUF = 24;
const OUT = 104;

/** r0 = strto{l,ul}(buf (len bytes from the packet, on the stack), len, flags from the packet, &res); r0 and res written at OUT. */
function strtoProgram(helper: 'strtol' | 'strtoul', len: number): Instruction[] {
  const body: (Instruction | ReturnType<typeof label>)[] = [alu64.mov.reg(r6, r1), ldx.w(r7, r6, 0), ldx.w(r3, r6, 4), alu64.mov.reg(r4, r7), alu64.add.imm(r4, OUT + 16), alu64.mov.imm(r0, 1), jmp.jgt.reg(r4, r3, 'out')];
  for (let i = 0; i < 80; i += 8) body.push(ldx.dw(r4, r7, BUF + i), stx.dw(r10, -80 + i, r4));
  body.push(st.dw(r10, -88, 0x5a5a), alu64.mov.reg(r1, r10), alu64.add.imm(r1, -80), alu64.mov.imm(r2, len), ldx.dw(r3, r7, FLAGS), alu64.mov.reg(r4, r10), alu64.add.imm(r4, -88), call.helper(helper));
  body.push(stx.dw(r7, OUT, r0), ldx.dw(r4, r10, -88), stx.dw(r7, OUT + 8, r4), alu64.mov.imm(r0, 2), label('out'), exit());
  return program(...body);
}

const CURATED = [
  '0', '12', '-12', '  42', '\t\n-7x', '0x1f', '0X1F', '0x', '0xg', '0x1g', '077', '08', '0', '-0', '--1', '-', ' ', '', '+5',
  'ff', 'FF', 'z', '18446744073709551615', '18446744073709551616', '9223372036854775807', '9223372036854775808',
  '-9223372036854775808', '-9223372036854775809', '0xffffffffffffffff', '0x10000000000000000', '1777777777777777777777',
  '2000000000000000000000', `${'0'.repeat(70)}1`, `${'1'.repeat(64)}`, '\xa0 5', '12\x0034', '1 2',
];

kernelTest('bpf_strtol and bpf_strtoul return and store what the kernel does', (sys) => {
  const rand = rng(7);
  const alphabet = ' \t-0123456789abcdefxXABFgz\xa0';
  const strings = [...CURATED];
  for (let i = 0; i < 60; i++) strings.push(Array.from({ length: 1 + (rand() % 24) }, () => alphabet[rand() % alphabet.length]).join(''));
  const flagsChoices = [0n, 8n, 10n, 16n, 2n, 7n, 0x20n, 0x10an, 1n << 40n];
  const diffs: string[] = [];
  let compared = 0;
  for (const helper of ['strtol', 'strtoul'] as const) {
    for (const len of [1, 3, 8, 24, 64, 80]) {
      const insns = strtoProgram(helper, len);
      using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_strtol' });
      for (const [si, s] of strings.entries()) {
        const flags = si < CURATED.length ? flagsChoices[si % 4]! : flagsChoices[rand() % flagsChoices.length]!;
        const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, 200);
        data.fill(0, 14);
        new DataView(data.buffer).setBigUint64(FLAGS, flags, true);
        data.set(Buffer.from(s, 'latin1').subarray(0, 80), BUF);
        const k = summary(kernelRunLoaded(prog, xdpOps, data));
        const m = summary(vmRun(xdpOps, insns, data, undefined, { env: createHelperEnv() }));
        compared++;
        if (k !== m) diffs.push(`${helper} len ${len} flags ${flags} ${JSON.stringify(s)}: kernel ${k.slice(OUT * 2 + 20, OUT * 2 + 54)} bpfkit ${m.slice(OUT * 2 + 20, OUT * 2 + 54)}`);
      }
    }
  }
  process.stdout.write(`# strtol/strtoul: ${compared} calls compared with the kernel, ${diffs.length} mismatches\n`);
  assert.deepEqual(diffs.slice(0, 10), []);
});
