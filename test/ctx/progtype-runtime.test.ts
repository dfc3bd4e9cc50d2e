// The new program types through the userspace runtime (JIT and interpreter, as `bpfkit test-run` runs them) against
// the kernel backend on the same object: cgroup_skb, lwt_in, lwt_xmit, sk_lookup and flow_dissector programs built
// by clang, on a packet / connection corpus — return values, data_out, ctx_out and map contents.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadObject } from '../../src/elf/object-loader.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { InvalidContextError } from '../../src/vm/errors.js';
import { parseBtf } from '../../src/btf/index.js';
import { assertVerified } from '../../src/verifier/verify.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturePath } from '../support/fixtures.js';
import { frame } from './oracle.js';

const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '-');
const object = (name: string): ObjectSpec => loadObject(new Uint8Array(readFileSync(fixturePath(`progtype/${name}.o`))), { objectName: name });

/** IPv4 frames: UDP to port 53 from inside/outside 10/8, TCP, a short one; an IPv6 frame; ARP. */
function packets(): Uint8Array[] {
  const ip4 = (proto: number, src: number[], dport: number, tos = 0, len = 28): Uint8Array => {
    const h = new Uint8Array(len);
    h.set([0x45, tos, 0, len, 0, 0, 0, 0, 64, proto, 0, 0, ...src, 10, 0, 0, 2]);
    if (len >= 24) h.set([0x04, 0xd2, dport >> 8, dport & 0xff], 20);
    return h;
  };
  const host = [0, 0, 0, 0, 0, 0];
  return [
    frame(host, 0x0800, ip4(17, [11, 0, 0, 1], 53)),
    frame(host, 0x0800, ip4(17, [10, 9, 8, 7], 53, 0x10)),
    frame(host, 0x0800, ip4(17, [11, 0, 0, 1], 54, 0xb8)),
    frame(host, 0x0800, ip4(6, [192, 168, 1, 1], 53, 4, 40)),
    frame(host, 0x0800, ip4(17, [11, 0, 0, 1], 53, 0, 20)),
    frame(host, 0x0800, new Uint8Array([0x45, 0, 0, 10, 1, 2])),
    frame(host, 0x86dd, new Uint8Array(48).map((_, i) => i * 3)),
    frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0x0806, 28),
  ];
}

/** sk_lookup contexts: the steered port from the allowed and other remote ports, another port, IPv6. */
function connections(): Uint8Array[] {
  const ctx = (family: number, remotePort: number, localPort: number): Uint8Array => {
    const c = new Uint8Array(72);
    const v = new DataView(c.buffer);
    v.setUint32(8, family, true);
    v.setUint32(12, 6, true);
    v.setUint16(36, remotePort, false);
    v.setUint32(60, localPort, true);
    return c;
  };
  return [ctx(2, 1234, 7007), ctx(2, 4321, 7007), ctx(2, 1234, 80), ctx(10, 1234, 7007), ctx(10, 9, 7007)];
}

kernelTest('cgroup_skb, lwt and sk_lookup programs: the JIT and the interpreter equal the kernel, maps included', (sys) => {
  const spec = object('progtype_net');
  let runs = 0;
  for (const engine of ['jit', 'interpreter'] as const) {
    using kernel = loadKernelObject(sys, spec);
    using user = loadUserspace(spec, { engine });
    const cases: [string, Uint8Array, Uint8Array | undefined][] = [
      ...['cg_filter', 'lwt_ttl', 'lwt_in_count'].flatMap((p) => packets().map((d) => [p, d, undefined] as [string, Uint8Array, undefined])),
      ...connections().map((c) => ['steer', new Uint8Array(0), c] as [string, Uint8Array, Uint8Array]),
    ];
    for (const [prog, data, ctxIn] of cases) {
      const what = `${engine} ${prog} on ${hex(ctxIn ?? data).slice(0, 60)}`;
      let k;
      try {
        k = kernel.program(prog).testRun({ dataIn: data, ...(ctxIn ? { ctxIn, ctxOutSize: ctxIn.length } : {}) });
      } catch (err) {
        // The kernel refuses the input (an IPv4 frame shorter than its header): so does bpfkit.
        if (!(err instanceof KernelError) || err.errnoName !== 'EINVAL') throw err;
        assert.throws(() => user.program(prog).testRun({ data, ...(ctxIn ? { ctxIn } : {}) }), InvalidContextError, what);
        runs++;
        continue;
      }
      const u = user.program(prog).testRun({ data, ...(ctxIn ? { ctxIn } : {}) });
      assert.equal(u.retval, k.retval, `${what}: retval`);
      assert.equal(hex(u.dataOut), hex(k.dataOut), `${what}: data_out`);
      if (ctxIn) assert.equal(hex(u.ctxOut), hex(k.ctxOut), `${what}: ctx_out`);
      for (let slot = 0; slot < 4; slot++) {
        const key = new Uint8Array([slot, 0, 0, 0]);
        assert.equal(hex(user.map('counters').read(key)), hex(kernel.map('counters').get(key)), `${what}: counters[${slot}]`);
      }
      runs++;
    }
  }
  process.stdout.write(`# progtype_net: ${runs} runs (JIT and interpreter) equal the kernel, maps included\n`);
});

kernelTest('flow_dissector: the clang dissector through the JIT equals the kernel', (sys) => {
  const spec = object('progtype_flow_dissector');
  using kernel = loadKernelObject(sys, spec);
  using user = loadUserspace(spec, { engine: 'jit' });
  let runs = 0;
  for (const data of packets()) {
    for (const flags of [undefined, 1, 2]) {
      const ctxIn = flags === undefined ? undefined : new Uint8Array(56).fill(0);
      if (ctxIn) ctxIn[48] = flags!;
      const k = kernel.program('dissect').testRun({ dataIn: data, ...(ctxIn ? { ctxIn, ctxOutSize: 56 } : {}) });
      const u = user.program('dissect').testRun({ data, ...(ctxIn ? { ctxIn } : {}) });
      assert.equal(u.retval, k.retval, `retval on ${hex(data)}`);
      assert.equal(hex(u.dataOut), hex(k.dataOut), `flow keys on ${hex(data)}`);
      runs++;
    }
  }
  process.stdout.write(`# flow dissector (JIT): ${runs} runs equal the kernel\n`);
});

kernelTest('netfilter: a clang-built program reading the hook state (verified with the kernel BTF) equals the kernel, JIT and interpreter', (sys) => {
  const spec = object('progtype_netfilter');
  const kernelBtf = parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux')));
  const ip4 = new Uint8Array(40);
  ip4[0] = 0x45;
  const ip6 = new Uint8Array(60);
  ip6[0] = 0x60;
  const state = (hook: number, pf: number): Uint8Array => {
    const c = new Uint8Array(48);
    c[0] = hook;
    c[1] = pf;
    return c;
  };
  const eth = (type: number, body: Uint8Array): Uint8Array => frame([0, 0, 0, 0, 0, 0], type, body);
  const inputs: [Uint8Array, Uint8Array | undefined][] = [
    [ip4, undefined],
    [ip4, state(3, 2)],
    [ip6, state(3, 10)],
    [eth(0x0800, ip4), state(0, 2)],
    [eth(0x0800, ip4), state(1, 2)],
    [eth(0x86dd, ip6), state(2, 10)],
    [eth(0x86dd, ip6), state(4, 10)],
  ];
  let runs = 0;
  for (const engine of ['jit', 'interpreter'] as const) {
    using kernel = loadKernelObject(sys, spec);
    using user = loadUserspace(spec, { engine, verify: (p, s) => void assertVerified(p, s, { kernelBtf }) });
    for (const [data, ctxIn] of inputs) {
      const k = kernel.program('nf_filter').testRun({ dataIn: data, ...(ctxIn ? { ctxIn } : {}) });
      const u = user.program('nf_filter').testRun({ data, ...(ctxIn ? { ctxIn } : {}) });
      assert.equal(u.retval, k.retval, `${engine} on ${hex(data).slice(0, 30)} ctx ${hex(ctxIn).slice(0, 4)}: retval`);
      for (let slot = 0; slot < 16; slot++) {
        const key = new Uint8Array([slot, 0, 0, 0]);
        assert.equal(hex(user.map('seen').read(key)), hex(kernel.map('seen').get(key)), `${engine}: seen[${slot}]`);
      }
      runs++;
    }
  }
  process.stdout.write(`# netfilter (JIT and interpreter): ${runs} runs equal the kernel, maps included\n`);
});
