// bpf_cast_to_kern_ctx against BPF_PROG_TEST_RUN: test/fixtures/kfunc/kfunc_kern_ctx.o reads struct sk_buff
// (lengths, header offsets, data - head, mark and priority the program just stored, protocol, the
// pkt_type/ip_summed bitfield byte) before and after bpf_skb_adjust_room, and struct xdp_buff before and after
// bpf_xdp_adjust_head, writing what it read into the packet: retval and data_out must equal the kernel's in
// the JIT and the interpreter. A read of skb->dev (a kernel object userspace does not model) faults, named.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseBtf } from '../../../src/btf/index.js';
import { KernCtxFieldError } from '../../../src/ctx/kfuncs/index.js';
import { loadObject } from '../../../src/elf/object-loader.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../../src/runtime/index.js';
import { assertVerified } from '../../../src/verifier/verify.js';
import { fixturesDir } from '../../support/fixtures.js';
import { iterationSeed, prng } from '../../support/mutate.js';
import { kernelTest } from '../../kernel/harness.js';

const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'kfunc', 'kfunc_kern_ctx.o'))), { objectName: 'kfunc_kern_ctx' });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Ethernet + IPv4 or IPv6 + UDP, `len` bytes, the rest seeded; some with a multicast or our MAC. */
function frames(): Uint8Array[] {
  const out: Uint8Array[] = [];
  let i = 0;
  for (const v6 of [false, true]) {
    for (const len of [60, 78, 100, 142, 150, 200, 512, 1400]) {
      for (const dst of [[0x02, 0, 0, 0, 0, 1], [0x01, 0, 0x5e, 0, 0, 1], [0, 0, 0, 0, 0, 0]]) {
        const r = prng(iterationSeed(7, i++));
        const f = new Uint8Array(len).map(() => r.int(256));
        f.set(dst, 0);
        f.set([0x02, 0, 0, 0, 0, 2], 6);
        if (v6) {
          f.set([0x86, 0xdd, 0x60, 0, 0, 0, (len - 54) >> 8, (len - 54) & 0xff, 17, 64], 12);
        } else {
          f.set([0x08, 0x00, 0x45, 0, (len - 14) >> 8, (len - 14) & 0xff, 0, 0, 0x40, 0, 64, 17], 12);
        }
        out.push(f);
      }
    }
  }
  return out;
}

kernelTest('bpf_cast_to_kern_ctx: struct sk_buff and xdp_buff fields read live equal BPF_PROG_TEST_RUN (JIT and interpreter); skb->dev faults, named', (sys) => {
  const kernelBtf = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  using kernel = loadKernelObject(sys, spec);
  let runs = 0;
  let adjusted = 0;
  for (const engine of ['jit', 'interpreter'] as const) {
    using user = loadUserspace(spec, { engine, verify: (p, s) => void assertVerified(p, s, { kernelBtf }) });
    for (const data of frames()) {
      for (const prog of ['tc_kern_ctx', 'xdp_kern_ctx']) {
        const k = kernel.program(prog).testRun({ dataIn: data });
        const u = user.program(prog).testRun({ data });
        assert.equal(u.retval, k.retval, `${engine} ${prog}: retval on ${data.length} bytes ${hex(data.subarray(0, 16))}`);
        assert.equal(hex(u.dataOut), hex(k.dataOut), `${engine} ${prog}: data_out on ${data.length} bytes ${hex(data.subarray(0, 16))}`);
        if (prog === 'tc_kern_ctx' && k.dataOut.length < data.length) adjusted++;
        runs++;
      }
      // skb->len is modelled; skb->dev is not: the kernel reads loopback's ifindex, userspace faults naming the field.
      const k = kernel.program('tc_kern_dev').testRun({ dataIn: data });
      if (data.length < 100) {
        assert.equal(user.program('tc_kern_dev').testRun({ data }).retval, k.retval);
      } else {
        assert.equal(k.retval, 1, 'the kernel reads lo');
        assert.throws(() => user.program('tc_kern_dev').testRun({ data }), (e: unknown) => e instanceof KernCtxFieldError && e.code === 'ERR_KERN_CTX_FIELD' && e.struct === 'sk_buff' && e.field === 'dev');
      }
    }
  }
  assert.ok(adjusted > 10, `${adjusted} runs went through bpf_skb_adjust_room`);
  process.stdout.write(`# bpf_cast_to_kern_ctx: ${runs} runs equal the kernel (${adjusted} after bpf_skb_adjust_room)\n`);
});
