// bpf_probe_read_kernel/_str and bpf_probe_read_user/_str against the kernel: reads of the stack and
// the packet, NULL, user-space, non-canonical and vsyscall addresses; return values and buffers.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, type Instruction, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r6, r7, r8, r10, stx } from '../../src/isa/index.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { kernelTest } from '../kernel/harness.js';
import { rng } from '../vm/oracle.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

type ProbeHelper = 'probe_read_kernel' | 'probe_read_kernel_str' | 'probe_read_user' | 'probe_read_user_str';
/** Where the source points: a stack copy of the packet's bytes, the packet itself, or an address from the packet. */
type Source = 'stack' | 'packet' | 'address';

const SRC = 16;
const ADDR = 80;
const OUT = 96;

/** r0 = helper(fp-64 (pre-filled 0xaa), size, source); r0 and the 64-byte buffer written at OUT. */
function probeProgram(helper: ProbeHelper, size: number, source: Source): Instruction[] {
  const body: (Instruction | ReturnType<typeof label>)[] = [alu64.mov.reg(r6, r1), ldx.w(r7, r6, 0), ldx.w(r3, r6, 4), alu64.mov.reg(r4, r7), alu64.add.imm(r4, OUT + 72), alu64.mov.imm(r0, 1), jmp.jgt.reg(r4, r3, 'out')];
  for (let i = 0; i < 64; i += 8) body.push(ldx.dw(r4, r7, SRC + i), stx.dw(r10, -128 + i, r4));
  body.push(ld.imm64(r4, 0xaaaaaaaaaaaaaaaan));
  for (let i = 0; i < 64; i += 8) body.push(stx.dw(r10, -64 + i, r4));
  if (source === 'stack') body.push(alu64.mov.reg(r3, r10), alu64.add.imm(r3, -128));
  else if (source === 'packet') body.push(alu64.mov.reg(r3, r7), alu64.add.imm(r3, SRC));
  else body.push(ldx.dw(r3, r7, ADDR));
  body.push(alu64.mov.reg(r1, r10), alu64.add.imm(r1, -64), alu64.mov.imm(r2, size), call.helper(helper), alu64.mov.reg(r8, r0));
  body.push(stx.dw(r7, OUT, r8));
  for (let i = 0; i < 64; i += 8) body.push(ldx.dw(r4, r10, -64 + i), stx.dw(r7, OUT + 8 + i, r4));
  body.push(alu64.mov.imm(r0, 2), label('out'), exit());
  return program(...body);
}

const ADDRESSES = [0n, 0x1000n, 0x7ffffffff000n, 0x800000000000n, 0xdead000000000000n, 0xffffffffff600000n, 0xffffffffff600010n];

kernelTest('bpf_probe_read_kernel/_str and _user/_str: return values and buffers equal the kernel', (sys) => {
  const rand = rng(11);
  const diffs: string[] = [];
  let compared = 0;
  for (const helper of ['probe_read_kernel', 'probe_read_kernel_str', 'probe_read_user', 'probe_read_user_str'] as const) {
    for (const size of [0, 1, 7, 8, 33, 64]) {
      for (const source of ['stack', 'packet', 'address'] as const) {
        const insns = probeProgram(helper, size, source);
        using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_probe' });
        const variants = source === 'address' ? ADDRESSES.length : 4;
        for (let v = 0; v < variants; v++) {
          const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, 200);
          const src = Uint8Array.from({ length: 64 }, () => 0x20 + (rand() % 90));
          // Strings end at a NUL somewhere (or nowhere) in the 64 bytes.
          if (v === 1) src[5] = 0;
          if (v === 2) src[40] = 0;
          if (v === 3) src[0] = 0;
          data.set(src, SRC);
          if (source === 'address') new DataView(data.buffer).setBigUint64(ADDR, ADDRESSES[v]!, true);
          const k = summary(kernelRunLoaded(prog, xdpOps, data));
          const m = summary(vmRun(xdpOps, insns, data, undefined, { env: createHelperEnv() }));
          compared++;
          if (k !== m) diffs.push(`${helper} size ${size} ${source} #${v}: kernel ${k.slice(OUT * 2 + 20, OUT * 2 + 180)} bpfkit ${m.slice(OUT * 2 + 20, OUT * 2 + 180)}`);
        }
      }
    }
  }
  process.stdout.write(`# probe_read helpers: ${compared} calls compared with the kernel, ${diffs.length} mismatches\n`);
  assert.deepEqual(diffs.slice(0, 10), []);
});
