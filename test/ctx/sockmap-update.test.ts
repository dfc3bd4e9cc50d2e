// Program-side socket map updates against BPF_PROG_TEST_RUN: an sk_lookup program stores the socket a sockmap
// lookup gave in a sockmap or sockhash with bpf_map_update_elem (test/ctx/c/sockmap_update.c). Real TCP/UDP
// sockets made in a network namespace of the test's own fill the kernel's source sockmap; the same sockets, as
// the socket model (cookies read with SO_COOKIE), fill bpfkit's. After every run in one long sequence (keys,
// flags, full maps, held keys) the helper's answer and every destination slot (the cookie read back) equal the
// kernel's, in the JIT and the interpreter.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BpfSkLookup, BPF_SK_LOOKUP_SIZE } from '../../src/ctx/sk-lookup.js';
import type { ModelSocket } from '../../src/ctx/socket-model.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { compileBpf } from '../support/clang.js';
import { nsExec, uniqueName } from '../support/netns.js';
import { closeSocket, inNetns, makeSocket, type RawSocket, type RawSocketSpec } from '../support/raw-sockets.js';
import { kernelTest } from '../kernel/harness.js';

const LO4 = Uint8Array.of(127, 0, 0, 1);
const LO6 = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

/** The sockets, by source sockmap key (keys 6 and 7 stay empty). */
const SOCKETS: (RawSocketSpec & { state?: 'established' })[] = [
  { protocol: 'tcp', address: LO4 },
  { protocol: 'udp', address: LO4 },
  { protocol: 'tcp', address: LO6 },
  { protocol: 'udp', address: LO6, v6only: true },
  { protocol: 'tcp', address: LO4, state: 'established' },
  { protocol: 'tcp', address: LO4, reuseport: true },
];

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const u64 = (n: bigint): Uint8Array => new Uint8Array(new BigUint64Array([n]).buffer);

/** ctx_in selecting source key, destination key, flags and map (see the fixture). */
function ctxIn(sel: number): Uint8Array {
  const b = new Uint8Array(BPF_SK_LOOKUP_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(BpfSkLookup.family, 2, true);
  v.setUint32(BpfSkLookup.protocol, 6, true);
  v.setUint32(BpfSkLookup.local_port, 1000 + sel, true);
  b.set(LO4, BpfSkLookup.local_ip4);
  return b;
}

/** Runs `fn` with SOCKETS made in a fresh netns (lo up) and their socket model; closes them and removes the netns after, also on failure. */
function withSockets(fn: (ns: string, made: readonly RawSocket[], model: ModelSocket[]) => void): void {
  const ns = uniqueName('bksu');
  nsExec(undefined, ['ip', 'netns', 'add', ns]);
  const made: RawSocket[] = [];
  try {
    nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    inNetns(ns, () => {
      for (const s of SOCKETS) made.push(makeSocket(s.state === 'established' ? { ...s, connectTo: made[0]!.port } : s));
    });
    const model: ModelSocket[] = SOCKETS.map((s, i) => ({
      protocol: s.protocol,
      local: s.address,
      localPort: made[i]!.port,
      ...(s.state === 'established' ? { remote: s.address, remotePort: made[0]!.port } : {}),
      ...(s.v6only ? { v6only: true } : {}),
      ...(s.reuseport ? { reuseport: true } : {}),
      cookie: made[i]!.cookie,
    }));
    fn(ns, made, model);
  } finally {
    for (const s of made) closeSocket(s);
    nsExec(undefined, ['ip', 'netns', 'del', ns]);
  }
}

/** The selectors run in order: every source x destination key x flags, into the sockmap then the sockhash. */
function sequence(): number[] {
  const out: number[] = [];
  for (const hash of [0, 0x100]) for (const flags of [1, 0, 2, 3]) for (let d = 0; d < 8; d++) for (let s = 0; s < 8; s++) out.push(hash | (flags << 6) | (d << 3) | s);
  return out;
}

kernelTest('program-side sockmap/sockhash updates (sk_lookup, bpf_map_update_elem) equal BPF_PROG_TEST_RUN on the same real sockets', (sys) => {
  withSockets((ns, made, model) => {
    const spec = loadObject(compileBpf(join(import.meta.dirname, 'c', 'sockmap_update.c')), { objectName: 'sockmap_update' });
    const sel = sequence();
    // The kernel's answers and destination slots after each run.
    const kernelSteps: string[] = [];
    {
      using kernel = loadKernelObject(sys, spec);
      made.forEach((m, i) => kernel.map('src').set(u32(i), u64(BigInt(m.fd))));
      for (const s of sel) {
        const r = kernel.program('store_sock').testRun({ ctxIn: ctxIn(s), ctxOutSize: BPF_SK_LOOKUP_SIZE, dataOutSize: 0 });
        kernelSteps.push(step(r.retval, (name, k) => kernel.map(name).get(u32(k))));
      }
    }
    const answers = new Set<string>();
    for (const engine of ['jit', 'interpreter'] as const) {
      using user = loadUserspace(spec, { engine, sockets: { sockets: model } });
      made.forEach((_, i) => user.bpfMap('src').set(u32(i), u64(BigInt(i))));
      sel.forEach((s, n) => {
        const r = user.program('store_sock').testRun({ data: new Uint8Array(0), ctxIn: ctxIn(s) });
        const got = step(r.retval, (name, k) => user.bpfMap(name).get(u32(k)));
        assert.equal(got, kernelSteps[n], `${engine} run ${n} (selector 0x${s.toString(16)})`);
        answers.add(got.split(' ')[1]!);
      });
    }
    // The sequence reached success, EINVAL (flags), E2BIG (index, full sockhash), EEXIST, ENOENT and an empty source key.
    assert.deepEqual([...answers].sort(), ['-17', '-2', '-22', '-7', '0', '1000'], [...answers].join(' '));
    process.stdout.write(`# program-side socket map updates: ${2 * sel.length} runs equal the kernel (answers ${[...answers].join(', ')})\n`);
  });
});

/** `retval answer dst[0..3] dsth[0..7]` with each slot's cookie or '-'. */
function step(retval: number, get: (map: string, key: number) => Uint8Array | undefined): string {
  const slot = (map: string, k: number): string => {
    let v: Uint8Array | undefined;
    try {
      v = get(map, k);
    } catch {
      v = undefined;
    }
    return v ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true).toString() : '-';
  };
  const res = get('result', 0)!;
  const answer = new DataView(res.buffer, res.byteOffset).getBigInt64(0, true);
  const dst = [0, 1, 2, 3].map((k) => slot('dst', k));
  const dsth = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => slot('dsth', k));
  return `${retval} ${answer} ${dst.join(',')} ${dsth.join(',')}`;
}

/** A tc test-run packet: Ethernet header, then tuple (saddr, daddr, sport, dport), key, flags, sockhash, UDP. */
function tcPacket(sport: number, dport: number, key: number, flags: number, hash: boolean, udp: boolean): Uint8Array {
  const p = new Uint8Array(64);
  const v = new DataView(p.buffer);
  v.setUint16(12, 0x88b5, false);
  p.set(LO4, 14);
  p.set(LO4, 18);
  v.setUint16(22, sport, false);
  v.setUint16(24, dport, false);
  v.setUint32(26, key, true);
  v.setUint32(30, flags, true);
  p[34] = hash ? 1 : 0;
  p[35] = udp ? 1 : 0;
  return p;
}

kernelTest('program-side sockmap/sockhash updates (tc, a socket from bpf_sk_lookup_tcp/udp) equal BPF_PROG_TEST_RUN in the sockets\' namespace', (sys) => {
  withSockets((ns, made, model) => {
    const spec = loadObject(compileBpf(join(import.meta.dirname, 'c', 'sockmap_update.c')), { objectName: 'sockmap_update' });
    // (sport, dport, udp): the IPv4 listener, the established client, the UDP socket, the reuseport listener, nothing.
    const lookups: [number, number, boolean][] = [
      [40000, made[0]!.port, false],
      [made[0]!.port, made[4]!.port, false],
      [40000, made[1]!.port, true],
      [40000, made[5]!.port, false],
      [40000, 1, false],
    ];
    const packets: Uint8Array[] = [];
    for (const hash of [false, true]) for (const flags of [1, 0, 2, 3]) for (let key = 0; key < 8; key++) for (const [sport, dport, udp] of lookups) packets.push(tcPacket(sport, dport, key, flags, hash, udp));
    const kernelSteps: string[] = [];
    {
      using kernel = loadKernelObject(sys, spec);
      inNetns(ns, () => {
        for (const p of packets) {
          const r = kernel.program('store_found').testRun({ dataIn: p });
          kernelSteps.push(step(r.retval, (name, k) => kernel.map(name).get(u32(k))));
        }
      });
    }
    const answers = new Set<string>();
    for (const engine of ['jit', 'interpreter'] as const) {
      using user = loadUserspace(spec, { engine, sockets: { sockets: model } });
      packets.forEach((p, n) => {
        const got = step(user.program('store_found').testRun({ data: p }).retval, (name, k) => user.bpfMap(name).get(u32(k)));
        assert.equal(got, kernelSteps[n], `${engine} run ${n} (packet ${Buffer.from(p.subarray(14, 36)).toString('hex')})`);
        answers.add(got.split(' ')[1]!);
      });
    }
    assert.deepEqual([...answers].sort(), ['-17', '-2', '-22', '-7', '0', '1000'], [...answers].join(' '));
    process.stdout.write(`# tc program-side socket map updates: ${2 * packets.length} runs equal the kernel (answers ${[...answers].join(', ')})\n`);
  });
});
