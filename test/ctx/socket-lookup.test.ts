// Socket lookups against the kernel: real TCP/UDP sockets on loopback in this process's network
// namespace (the one BPF_PROG_TEST_RUN looks in), the same sockets given to bpfkit as a model;
// the program reports whether each tuple finds a socket and every struct bpf_sock (and, from tc,
// bpf_tcp_sock, bpf_sk_fullsock and bpf_get_listener_sock) field it can read.
import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { alu64, call, encode, exit, type Instruction, jmp, label, ldx, program, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, stx } from '../../src/isa/index.js';
import { createHelperEnv, createHelpers } from '../../src/ctx/helpers/index.js';
import { SkBuff } from '../../src/ctx/sk-buff.js';
import { tcOps } from '../../src/ctx/tc.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { ModelError } from '../../src/ctx/model-error.js';
import { lookupSocket, validateSocketTable, type ModelSocket, type SocketTable } from '../../src/ctx/socket-model.js';
import type { RunnableProgramType } from '../../src/ctx/program-type-ops.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { AddressSpace, Interpreter, prepareProgram, UnmodelledCallError } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { frame, kernelRunLoaded, summary, vmRun } from './oracle.js';

const TUPLE = 16;
const NETNS = 56;
const FLAGS = 64;
const OUT = 128;
const PACKET = 640;

/** struct bpf_sock fields a sock_common pointer may read (type..priority only through a full socket). */
// rx_queue_mapping (76) is left out: an accepted socket keeps the queue of the SYN that created it,
// a value of the kernel's loopback path the model cannot know (the model's default is -1, no queue).
const COMMON_FIELDS = [0, 4, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72];
const FULL_ONLY = [8, 12, 16, 20];
const TCP_FIELDS = [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 72, 76, 80, 88, 96, 100, 104, 108];

type Lookup = 'sk_lookup_tcp' | 'sk_lookup_udp' | 'skc_lookup_tcp';

/**
 * Looks up the tuple at TUPLE (size `len`) with netns_id and flags from the packet; writes at OUT
 * a found flag, then each readable field (8 bytes apiece); from tc also fullsock, listener and
 * the tcp_sock fields. Returns 0, or 2 when the packet is short.
 */
function lookupProgram(ops: RunnableProgramType, helper: Lookup, len: number): Instruction[] {
  const tc = ops === tcOps;
  const body: (Instruction | ReturnType<typeof label>)[] = [alu64.mov.reg(r6, r1)];
  body.push(tc ? ldx.w(r9, r6, SkBuff.data) : ldx.w(r9, r6, 0), tc ? ldx.w(r3, r6, SkBuff.data_end) : ldx.w(r3, r6, 4));
  body.push(alu64.mov.reg(r4, r9), alu64.add.imm(r4, PACKET), alu64.mov.imm(r0, 2), jmp.jgt.reg(r4, r3, 'out'));
  for (let i = 0; i < 40; i += 8) body.push(ldx.dw(r4, r9, TUPLE + i), stx.dw(r10, -40 + i, r4));
  body.push(alu64.mov.reg(r1, r6), alu64.mov.reg(r2, r10), alu64.add.imm(r2, -40), alu64.mov.imm(r3, len), ldx.dw(r4, r9, NETNS), ldx.dw(r5, r9, FLAGS), call.helper(helper));
  body.push(alu64.mov.reg(r7, r0), alu64.mov.imm(r0, 0), stx.dw(r9, OUT, r0), jmp.jeq.imm(r7, 0, 'out'));
  body.push(alu64.mov.imm(r0, 1), stx.dw(r9, OUT, r0));
  let at = OUT + 8;
  const fields = helper === 'skc_lookup_tcp' ? COMMON_FIELDS : [...COMMON_FIELDS, ...FULL_ONLY];
  for (const f of fields) {
    body.push(f === 48 ? ldx.h(r0, r7, f) : ldx.w(r0, r7, f), stx.dw(r9, at, r0));
    at += 8;
  }
  if (tc) {
    body.push(alu64.mov.reg(r1, r7), call.helper('sk_fullsock'), jmp.jeq.imm(r0, 0, 'nofull'), alu64.mov.imm(r0, 1), label('nofull'), stx.dw(r9, at, r0));
    at += 8;
    body.push(alu64.mov.reg(r1, r7), call.helper('get_listener_sock'), jmp.jeq.imm(r0, 0, 'nolisten'), alu64.mov.imm(r0, 1), label('nolisten'), stx.dw(r9, at, r0));
    at += 8;
    body.push(alu64.mov.reg(r1, r7), call.helper('tcp_sock'), alu64.mov.reg(r8, r0), alu64.mov.imm(r0, 0), stx.dw(r9, at, r0), jmp.jeq.imm(r8, 0, 'release'));
    body.push(alu64.mov.imm(r0, 1), stx.dw(r9, at, r0));
    at += 8;
    for (const f of TCP_FIELDS) {
      body.push(f === 80 || f === 88 ? ldx.dw(r0, r8, f) : ldx.w(r0, r8, f), stx.dw(r9, at, r0));
      at += 8;
    }
  }
  body.push(label('release'), alu64.mov.reg(r1, r7), call.helper('sk_release'), alu64.mov.imm(r0, 0), label('out'), exit());
  return program(...body);
}

/** A packet holding the tuple, netns_id and flags. */
function packet(tuple: Uint8Array, netns: bigint, flags: bigint): Uint8Array {
  const p = frame([0, 0, 0, 0, 0, 0], 0x88b5, PACKET - 14);
  p.fill(0, 14);
  p.set(tuple, TUPLE);
  new DataView(p.buffer).setBigUint64(NETNS, BigInt.asUintN(64, netns), true);
  new DataView(p.buffer).setBigUint64(FLAGS, flags, true);
  return p;
}

const ip4 = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number));
const LO6 = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1);

/** struct bpf_sock_tuple for (saddr, sport) -> (daddr, dport). */
function tuple(saddr: Uint8Array, sport: number, daddr: Uint8Array, dport: number): Uint8Array {
  const n = saddr.length;
  const t = new Uint8Array(2 * n + 4);
  t.set(saddr, 0);
  t.set(daddr, n);
  new DataView(t.buffer).setUint16(2 * n, sport, false);
  new DataView(t.buffer).setUint16(2 * n + 2, dport, false);
  return t;
}

/** The 8-byte output slots where two summaries differ: `slot N: kernel X bpfkit Y`. */
function fieldDiff(k: string, m: string, lastSlot = Infinity): string {
  const kd = /data (\S+)/.exec(k)?.[1] ?? k;
  const md = /data (\S+)/.exec(m)?.[1] ?? m;
  if (kd.length !== md.length) return `kernel ${k.slice(0, 300)} bpfkit ${m.slice(0, 300)}`;
  const out: string[] = [];
  for (let i = OUT * 2; i < kd.length && (i / 2 - OUT) / 8 <= lastSlot; i += 16) if (kd.slice(i, i + 16) !== md.slice(i, i + 16)) out.push(`slot ${(i / 2 - OUT) / 8}: kernel ${kd.slice(i, i + 16)} bpfkit ${md.slice(i, i + 16)}`);
  if (out.length === 0 && kd.slice(0, OUT * 2) !== md.slice(0, OUT * 2)) return `before the output: kernel ${k.slice(0, 300)} bpfkit ${m.slice(0, 300)}`;
  if (out.length === 0 && k.slice(0, 20) !== m.slice(0, 20)) return `retval: kernel ${k.slice(0, 20)} bpfkit ${m.slice(0, 20)}`;
  return out.join('; ');
}

interface RealSockets {
  readonly table: SocketTable;
  readonly ports: { tcp4: number; tcp6: number; udp4: number; udp6: number; client: number; udpConnected: number; timeWait: number };
  close(): Promise<void>;
}

/** Listening and connected sockets on loopback, and the same sockets as a model. */
async function openSockets(): Promise<RealSockets> {
  const servers: Server[] = [];
  const streams: Socket[] = [];
  const udps: UdpSocket[] = [];
  const close = async () => {
    for (const s of streams) s.destroy();
    for (const u of udps) u.close();
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  };
  try {
    const listen = async (host: string) => {
      const s = createServer((c) => streams.push(c));
      servers.push(s);
      s.listen(0, host);
      await once(s, 'listening');
      return (s.address() as { port: number }).port;
    };
    const tcp4 = await listen('127.0.0.1');
    const tcp6 = await listen('::1');
    const client = createConnection({ host: '127.0.0.1', port: tcp4 });
    streams.push(client);
    await once(client, 'connect');
    // A connection the client closes first: its side lingers in TIME_WAIT (what only skc_lookup finds).
    const closer = createConnection({ host: '127.0.0.1', port: tcp4 });
    await once(closer, 'connect');
    const twPort = closer.localPort!;
    for (let i = 0; i < 50 && streams.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    const accepted = streams.find((c) => c.remotePort === twPort);
    closer.end();
    await once(closer, 'close');
    if (accepted && !accepted.destroyed) await once(accepted, 'close');
    const bindUdp = async (type: 'udp4' | 'udp6', host: string) => {
      const u = createSocket(type);
      udps.push(u);
      u.bind(0, host);
      await once(u, 'listening');
      return u;
    };
    const udp4 = (await bindUdp('udp4', '127.0.0.1')).address().port;
    const udp6 = (await bindUdp('udp6', '::1')).address().port;
    const conn = await bindUdp('udp4', '127.0.0.1');
    conn.connect(udp4, '127.0.0.1');
    await once(conn, 'connect');
    const udpConnected = conn.address().port;
    // Wait until the server has accepted the client (the established socket exists either way).
    for (let i = 0; i < 50 && streams.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    const lo = ip4('127.0.0.1');
    const sockets: ModelSocket[] = [
      { protocol: 'tcp', local: lo, localPort: tcp4 },
      { protocol: 'tcp', local: LO6, localPort: tcp6, v6only: true },
      { protocol: 'tcp', local: lo, localPort: client.localPort!, remote: lo, remotePort: tcp4 },
      { protocol: 'tcp', local: lo, localPort: tcp4, remote: lo, remotePort: client.localPort! },
      { protocol: 'udp', local: lo, localPort: udp4 },
      { protocol: 'udp', local: LO6, localPort: udp6, v6only: true },
      { protocol: 'udp', local: lo, localPort: udpConnected, remote: lo, remotePort: udp4 },
      { protocol: 'tcp', local: lo, localPort: twPort, remote: lo, remotePort: tcp4, state: 'time_wait' },
    ];
    return { table: { sockets }, ports: { tcp4, tcp6, udp4, udp6, client: client.localPort!, udpConnected, timeWait: twPort }, close };
  } catch (err) {
    await close();
    throw err;
  }
}

kernelTest('socket lookups find what the kernel finds, with the same struct bpf_sock and bpf_tcp_sock fields', async (sys) => {
  const real = await openSockets();
  try {
    const { ports } = real;
    const lo = ip4('127.0.0.1');
    const lo2 = ip4('127.0.0.2');
    const v4 = [
      tuple(ip4('10.1.2.3'), 40000, lo, ports.tcp4),
      tuple(lo, 40000, lo2, ports.tcp4),
      tuple(lo, ports.client, lo, ports.tcp4),
      tuple(lo, ports.tcp4, lo, ports.client),
      tuple(lo, 40000, lo, ports.udp4),
      tuple(lo, ports.udpConnected, lo, ports.udp4),
      tuple(lo, ports.udp4, lo, ports.udpConnected),
      tuple(lo, 4000, lo, ports.udpConnected),
      tuple(lo, 40000, lo, ports.tcp6),
      tuple(lo, 40000, lo, 1),
      tuple(lo, ports.tcp4, lo, ports.timeWait),
    ];
    const v6 = [tuple(LO6, 40000, LO6, ports.tcp6), tuple(LO6, 40000, LO6, ports.udp6), tuple(LO6, 40000, LO6, ports.tcp4), tuple(LO6, 1, LO6, 1)];
    const netnsChoices = [-1n, 0n, 0x80000000n, 1n << 32n, (1n << 32n) - 1n, 0x7fffffffn];
    const diffs: string[] = [];
    let compared = 0;
    let found = 0;
    for (const ops of [xdpOps, tcOps]) {
      for (const helper of ['sk_lookup_tcp', 'sk_lookup_udp', 'skc_lookup_tcp'] as const) {
        for (const len of [12, 36, 0, 20]) {
          const insns = lookupProgram(ops, helper, len);
          using prog = loadProgram(sys, { type: ops.type, insns: encode(insns), license: 'GPL', name: 'bk_sklookup' });
          const tuples = len === 36 ? v6 : len === 12 ? v4 : [v4[0]!, v6[0]!];
          for (const t of tuples) {
            for (const [netns, flags] of [[-1n, 0n], [-1n, 1n], ...netnsChoices.slice(1).map((n) => [n, 0n] as const)] as const) {
              if (len !== 12 && len !== 36 && netns !== -1n) continue;
              const data = packet(t, netns, flags);
              const k = summary(kernelRunLoaded(prog, ops, data));
              const m = summary(vmRun(ops, insns, data, undefined, { env: createHelperEnv({ sockets: real.table }) }));
              compared++;
              if (/data \S{256}01/.test(k)) found++;
              // An established connection's bpf_tcp_sock (sequence numbers, RTT, segment counts) is live
              // kernel state: the model gives it (TcpSockField values); compared here up to "tcp_sock found".
              const established = helper !== 'sk_lookup_udp' && (t === v4[2] || t === v4[3]);
              const diff = fieldDiff(k, m, established ? (helper === 'skc_lookup_tcp' ? COMMON_FIELDS.length : COMMON_FIELDS.length + FULL_ONLY.length) + 3 : Infinity);
              if (diff) diffs.push(`${ops.name} ${helper} len ${len} tuple ${Buffer.from(t).toString('hex')} netns ${netns} flags ${flags}: ${diff}`);
            }
          }
        }
      }
    }
    process.stdout.write(`# socket lookups: ${compared} lookups compared with the kernel (${found} found a socket), ${diffs.length} mismatches\n`);
    assert.deepEqual(diffs.slice(0, 12), []);
    assert.ok(found >= 20, `only ${found} lookups found a socket: the real sockets were not seen`);

    // bpf_sk_assign on a socket found (listener, established, UDP), flags from the packet.
    const assignProg = program(
      alu64.mov.reg(r6, r1), ldx.w(r9, r6, SkBuff.data), ldx.w(r3, r6, SkBuff.data_end), alu64.mov.reg(r4, r9), alu64.add.imm(r4, PACKET), alu64.mov.imm(r0, 2), jmp.jgt.reg(r4, r3, 'out'),
      ...[0, 8].flatMap((i) => [ldx.dw(r4, r9, TUPLE + i), stx.dw(r10, -16 + i, r4)]),
      alu64.mov.reg(r1, r6), alu64.mov.reg(r2, r10), alu64.add.imm(r2, -16), alu64.mov.imm(r3, 12), alu64.mov.imm(r4, -1), alu64.mov.imm(r5, 0), ldx.dw(r8, r9, NETNS), jmp.jeq.imm(r8, 0, 'tcp'),
      call.helper('sk_lookup_udp'), jmp.ja('found'), label('tcp'), call.helper('sk_lookup_tcp'), label('found'),
      alu64.mov.reg(r7, r0), alu64.mov.imm(r0, 99), jmp.jeq.imm(r7, 0, 'out'),
      alu64.mov.reg(r1, r6), alu64.mov.reg(r2, r7), ldx.dw(r3, r9, FLAGS), call.helper('sk_assign'), alu64.mov.reg(r8, r0),
      alu64.mov.reg(r1, r7), call.helper('sk_release'), alu64.mov.reg(r0, r8), label('out'), exit(),
    );
    using assign = loadProgram(sys, { type: tcOps.type, insns: encode(assignProg), license: 'GPL', name: 'bk_skassign' });
    let assigned = 0;
    for (const [t, udp] of [[v4[0]!, false], [v4[3]!, false], [v4[4]!, true]] as const) {
      for (const flags of [0n, 1n, 1n << 40n]) {
        const data = packet(t, udp ? 1n : 0n, flags);
        const k = summary(kernelRunLoaded(assign, tcOps, data));
        const m = summary(vmRun(tcOps, assignProg, data, undefined, { env: createHelperEnv({ sockets: real.table }) }));
        assert.equal(m.split(' ')[1], k.split(' ')[1], `sk_assign ${Buffer.from(t).toString('hex')} flags ${flags}`);
        assert.notEqual(k.split(' ')[1], '99', 'the socket was found');
        assigned++;
      }
    }
    process.stdout.write(`# sk_assign: ${assigned} calls compared with the kernel\n`);
  } finally {
    await real.close();
  }
});

test('the socket model: listener scoring, request and timewait sockets, namespaces, devices', () => {
  const lo = ip4('127.0.0.1');
  const any = new Uint8Array(4);
  const table: SocketTable = {
    sockets: [
      { protocol: 'tcp', local: any, localPort: 80 },
      { protocol: 'tcp', local: lo, localPort: 80 },
      { protocol: 'tcp', local: new Uint8Array(16), localPort: 443 },
      { protocol: 'tcp', local: lo, localPort: 80, remote: ip4('10.0.0.1'), remotePort: 5000, state: 'new_syn_recv', listener: 1 },
      { protocol: 'tcp', local: lo, localPort: 80, remote: ip4('10.0.0.2'), remotePort: 5000, state: 'time_wait' },
      { protocol: 'tcp', local: lo, localPort: 8080, boundIfindex: 3 },
      { protocol: 'udp', local: lo, localPort: 53, netnsId: 4 },
    ],
  };
  validateSocketTable(table);
  const t = (saddr: string, sport: number, daddr: string, dport: number) => ({ family: 4 as const, saddr: ip4(saddr), sport, daddr: ip4(daddr), dport });
  const here = { ifindex: 1 };
  assert.equal(lookupSocket(table, 'tcp', t('10.9.9.9', 1, '127.0.0.1', 80), here, true), 1, 'the exact address beats the wildcard');
  assert.equal(lookupSocket(table, 'tcp', t('10.9.9.9', 1, '10.0.0.9', 80), here, true), 0, 'the wildcard listener');
  assert.equal(lookupSocket(table, 'tcp', t('10.9.9.9', 1, '10.0.0.9', 443), here, true), 2, 'a dual-stack IPv6 listener takes IPv4');
  assert.equal(lookupSocket(table, 'tcp', t('10.0.0.1', 5000, '127.0.0.1', 80), here, false), 3, 'skc_lookup returns the request socket');
  assert.equal(lookupSocket(table, 'tcp', t('10.0.0.1', 5000, '127.0.0.1', 80), here, true), 1, 'sk_lookup returns its listener');
  assert.equal(lookupSocket(table, 'tcp', t('10.0.0.2', 5000, '127.0.0.1', 80), here, false), 4, 'skc_lookup returns the timewait socket');
  assert.equal(lookupSocket(table, 'tcp', t('10.0.0.2', 5000, '127.0.0.1', 80), here, true), -1, 'sk_lookup does not');
  assert.equal(lookupSocket(table, 'tcp', t('10.0.0.2', 1, '127.0.0.1', 8080), here, true), -1, 'bound to another device');
  assert.equal(lookupSocket(table, 'tcp', t('10.0.0.2', 1, '127.0.0.1', 8080), { ifindex: 3 }, true), 5);
  assert.equal(lookupSocket(table, 'udp', t('10.0.0.2', 1, '127.0.0.1', 53), here, true), -1, 'in another namespace');
  assert.equal(lookupSocket(table, 'udp', t('10.0.0.2', 1, '127.0.0.1', 53), { ifindex: 1, netnsId: 4 }, true), 6);
  assert.equal(lookupSocket(undefined, 'tcp', t('10.0.0.2', 1, '127.0.0.1', 80), here, true), -1, 'no model: nothing is found');
  for (const [bad, field] of [
    [{ protocol: 'tcp', local: new Uint8Array(5), localPort: 1 }, 'local'],
    [{ protocol: 'tcp', local: lo, localPort: 70000 }, 'localPort'],
    [{ protocol: 'udp', local: lo, localPort: 1, state: 'listen' }, 'state'],
    [{ protocol: 'tcp', local: lo, localPort: 1, state: 'established' }, 'remote'],
    [{ protocol: 'tcp', local: lo, localPort: 1, remote: lo, remotePort: 2, state: 'new_syn_recv', listener: 9 }, 'listener'],
  ] as const) {
    assert.throws(() => validateSocketTable({ sockets: [bad as ModelSocket] }), (e: unknown) => e instanceof ModelError && e.field === field, field);
  }
});

test('bpf_sk_assign from a test run: -EINVAL for flags, -EOPNOTSUPP otherwise (the skb is not at tc ingress); syncookies refused by name', () => {
  const lo = ip4('127.0.0.1');
  const env = createHelperEnv({ sockets: { sockets: [{ protocol: 'tcp', local: lo, localPort: 80 }] } });
  const t = tuple(lo, 1, lo, 80);
  const assign = (flags: number) =>
    program(
      alu64.mov.reg(r6, r1),
      ...Array.from({ length: 2 }, (_, i) => [alu64.mov.imm(r2, new DataView(Uint8Array.from([...t, 0, 0, 0, 0]).buffer).getInt32(i * 4, true)), stx.w(r10, -16 + i * 4, r2)]).flat(),
      alu64.mov.imm(r2, new DataView(t.buffer).getInt32(8, true)),
      stx.w(r10, -8, r2),
      alu64.mov.reg(r1, r6), alu64.mov.reg(r2, r10), alu64.add.imm(r2, -16), alu64.mov.imm(r3, 12), alu64.mov.imm(r4, -1), alu64.mov.imm(r5, 0),
      call.helper('sk_lookup_tcp'), alu64.mov.reg(r7, r0), jmp.jeq.imm(r7, 0, 'none'),
      alu64.mov.reg(r1, r6), alu64.mov.reg(r2, r7), alu64.mov.imm(r3, flags), call.helper('sk_assign'), alu64.mov.reg(r8, r0),
      alu64.mov.reg(r1, r7), call.helper('sk_release'), alu64.mov.reg(r0, r8), exit(),
      label('none'), alu64.mov.imm(r0, 99), exit(),
    );
  const data = frame([0, 0, 0, 0, 0, 0], 0x88b5, 60);
  assert.equal(summary(vmRun(tcOps, assign(0), data, undefined, { env })).split(' ')[1], String(2 ** 32 - 95));
  assert.equal(summary(vmRun(tcOps, assign(1), data, undefined, { env })).split(' ')[1], String(2 ** 32 - 22));
  const refused = prepareProgram(program(call.helper('tcp_raw_gen_syncookie_ipv4'), exit()), { helpers: createHelpers(env, xdpOps) });
  assert.deepEqual(refused.unmodelledCalls.map((c) => `${c.pc} ${c.name}`), ['0 bpf_tcp_raw_gen_syncookie_ipv4']);
  assert.throws(
    () => new Interpreter(refused, new AddressSpace()).run(0),
    (e: unknown) => e instanceof UnmodelledCallError && e.callee === 'bpf_tcp_raw_gen_syncookie_ipv4' && e.code === 'ERR_UNMODELLED_CALL' && e.pc === 0,
  );
});
