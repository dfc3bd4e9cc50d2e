// netfilter's struct sk_buff and net_device against BPF_PROG_TEST_RUN: test/fixtures/modelled/modelled_netfilter.o
// reads skb->len/data_len/protocol/header offsets/mark/priority, skb->dev and state->out (loopback's
// ifindex, name, mtu, type, addr_len, hard_header_len) through struct bpf_nf_ctx and stores them in a
// map: after each run on every hook and family the map and the verdict equal the kernel's in the JIT
// and the interpreter. skb->truesize (live kernel state) faults, named.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseBtf } from '../../src/btf/index.js';
import { KernCtxFieldError } from '../../src/ctx/index.js';
import { NfHookState, NF_HOOK_STATE_SIZE } from '../../src/ctx/netfilter.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { assertVerified } from '../../src/verifier/verify.js';
import { fixturesDir } from '../support/fixtures.js';
import { iterationSeed, prng } from '../support/mutate.js';
import { kernelTest } from '../kernel/harness.js';

const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'modelled', 'modelled_netfilter.o'))), { objectName: 'modelled_netfilter' });
const hex = (b: Uint8Array | undefined): string => Buffer.from(b ?? []).toString('hex');

function hookState(hook: number, pf: number): Uint8Array {
  const b = new Uint8Array(NF_HOOK_STATE_SIZE);
  b[NfHookState.hook] = hook;
  b[NfHookState.pf] = pf;
  return b;
}

/** L3 packets (LOCAL_OUT) and Ethernet frames (the other hooks), IPv4 and IPv6, several sizes and MACs. */
function inputs(): { data: Uint8Array; ctxIn?: Uint8Array }[] {
  const out: { data: Uint8Array; ctxIn?: Uint8Array }[] = [];
  let i = 0;
  for (const v6 of [false, true]) {
    for (const len of [40, 60, 61, 100, 300, 1500]) {
      const r = prng(iterationSeed(41, i++));
      const l3 = new Uint8Array(len).map(() => r.int(256));
      l3[0] = v6 ? 0x60 : 0x45;
      const pf = v6 ? 10 : 2;
      out.push(v6 ? { data: l3, ctxIn: hookState(3, pf) } : { data: l3 });
      for (const hook of [0, 1, 2, 3, 4]) {
        if (hook === 3) continue;
        for (const dst of [[0, 0, 0, 0, 0, 0], [0x02, 0, 0, 0, 0, 9], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]]) {
          const f = new Uint8Array(14 + len);
          f.set(dst, 0);
          f.set([0x02, 0, 0, 0, 0, 2, v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00], 6);
          f.set(l3, 14);
          out.push({ data: f, ctxIn: hookState(hook, pf) });
        }
      }
    }
  }
  return out;
}

kernelTest('netfilter: struct sk_buff and net_device read through bpf_nf_ctx equal BPF_PROG_TEST_RUN on every hook; skb->truesize faults, named', (sys) => {
  const kernelBtf = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  using kernel = loadKernelObject(sys, spec);
  const key = new Uint8Array(4);
  let runs = 0;
  let withDev = 0;
  for (const engine of ['jit', 'interpreter'] as const) {
    using user = loadUserspace(spec, { engine, verify: (p, s) => void assertVerified(p, s, { kernelBtf }) });
    const zeros = new Uint8Array(spec.maps.find((m) => m.name === 'seen')!.valueSize);
    for (const input of inputs()) {
      // Fresh values each run on both sides: fields only some runs write must not carry over.
      kernel.map('seen').set(key, zeros);
      user.bpfMap('seen').set(key, zeros);
      const k = kernel.program('nf_skb_fields').testRun({ dataIn: input.data, ...(input.ctxIn ? { ctxIn: input.ctxIn } : {}) });
      const u = user.program('nf_skb_fields').testRun({ data: input.data, ...(input.ctxIn ? { ctxIn: input.ctxIn } : {}) });
      const what = `${engine}: hook ${input.ctxIn?.[0] ?? 3} pf ${input.ctxIn?.[1] ?? 2}, ${input.data.length} bytes`;
      assert.equal(u.retval, k.retval, `${what}: verdict`);
      const km = kernel.map('seen').get(key)!;
      const um = user.bpfMap('seen').get(key)!;
      assert.equal(hex(um), hex(km), `${what}: fields read`);
      if (km[12] === 1) withDev++;
      runs++;
      const ku = kernel.program('nf_skb_truesize').testRun({ dataIn: input.data, ...(input.ctxIn ? { ctxIn: input.ctxIn } : {}) });
      if (input.data.length < 100) {
        assert.equal(user.program('nf_skb_truesize').testRun({ data: input.data, ...(input.ctxIn ? { ctxIn: input.ctxIn } : {}) }).retval, ku.retval);
      } else {
        assert.throws(() => user.program('nf_skb_truesize').testRun({ data: input.data, ...(input.ctxIn ? { ctxIn: input.ctxIn } : {}) }), (e: unknown) => e instanceof KernCtxFieldError && e.struct === 'sk_buff' && e.field === 'truesize');
      }
    }
  }
  assert.ok(withDev > runs / 2, `${withDev} runs had skb->dev set`);
  process.stdout.write(`# netfilter sk_buff/net_device: ${runs} runs (${withDev} with skb->dev) equal the kernel\n`);
});
