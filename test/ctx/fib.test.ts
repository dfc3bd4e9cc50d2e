// bpf_fib_lookup vs the kernel: a network namespace with connected, gateway, MTU and reject routes,
// a neighbour, and a device that does not forward; the same FIB given to bpfkit as a FibTable.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHelperEnv, type FibTable } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { run } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { fibProgram } from './fib-program.js';

const NS = 'bpfkit-ctx-fib';
const A = 'bpfkit-ctx-a';
const B = 'bpfkit-ctx-b';
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });
const ifindexOf = (dev: string): number => (JSON.parse(ip('-n', NS, '-j', 'link', 'show', dev)) as { ifindex: number }[])[0]!.ifindex;
const v4 = (s: string): Uint8Array => new Uint8Array(s.split('.').map(Number));
const mac = (s: string): Uint8Array => new Uint8Array(s.split(':').map((x) => parseInt(x, 16)));

function params(family: number, ifindex: number, dst: string, totLen: number): Uint8Array {
  const p = new Uint8Array(64);
  const v = new DataView(p.buffer);
  p[0] = family;
  p[1] = 6;
  v.setUint16(6, totLen, true);
  v.setUint32(8, ifindex, true);
  p.set(v4('10.1.0.1'), 16);
  p.set(v4(dst), 32);
  p[48] = 0x81; // vlan fields: zeroed on success
  return p;
}

/** An IPv6 address's 16 bytes (full or :: form). */
function v6(s: string): Uint8Array {
  const [head, tail] = s.includes('::') ? s.split('::') : [s, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

function params6(ifindex: number, dst: string, totLen: number): Uint8Array {
  const p = new Uint8Array(64);
  const v = new DataView(p.buffer);
  p[0] = 10;
  p[1] = 6;
  v.setUint16(6, totLen, true);
  v.setUint32(8, ifindex, true);
  p.set(v6('fd00:1::1'), 16);
  p.set(v6(dst), 32);
  p[48] = 0x81;
  return p;
}

kernelTest('bpf_fib_lookup: routes, reject routes, MTU, neighbours, forwarding and flags agree with the kernel', (sys, t) => {
  void sys;
  try {
    execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' }); // left over from an interrupted run
  } catch {
    // none: the usual case
  }
  try {
    ip('netns', 'add', NS);
  } catch (err) {
    t.skip(`cannot create network namespace ${NS}: ${String(err)}`);
    return;
  }
  try {
    ip('-n', NS, 'link', 'add', A, 'type', 'veth', 'peer', 'name', B);
    for (const dev of ['lo', A, B]) ip('-n', NS, 'link', 'set', dev, 'up');
    ip('-n', NS, 'link', 'set', A, 'address', '02:00:00:00:00:0a', 'mtu', '1400');
    ip('-n', NS, 'addr', 'add', '10.1.0.1/24', 'dev', A);
    ip('-n', NS, 'route', 'add', '10.2.0.0/16', 'via', '10.1.0.2', 'dev', A, 'metric', '5');
    ip('-n', NS, 'route', 'add', '10.6.0.0/16', 'via', '10.1.0.3', 'dev', A);
    ip('-n', NS, 'route', 'add', '10.7.0.0/16', 'via', '10.1.0.2', 'dev', A, 'mtu', '1000');
    ip('-n', NS, 'route', 'add', '10.8.0.0/16', 'via', '10.1.0.2', 'dev', A, 'mtu', 'lock', '1000');
    ip('-n', NS, 'route', 'add', 'blackhole', '10.3.0.0/16');
    ip('-n', NS, 'route', 'add', 'unreachable', '10.4.0.0/16');
    ip('-n', NS, 'route', 'add', 'prohibit', '10.5.0.0/16');
    ip('-n', NS, 'neigh', 'add', '10.1.0.2', 'lladdr', '02:00:00:00:00:0b', 'dev', A, 'nud', 'permanent');
    ip('netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv4.conf.all.forwarding=1');
    ip('netns', 'exec', NS, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
    ip('-n', NS, '-6', 'addr', 'add', 'fd00:1::1/64', 'dev', A, 'nodad');
    ip('-n', NS, '-6', 'route', 'add', 'fd00:2::/32', 'via', 'fd00:1::2', 'dev', A, 'metric', '5');
    ip('-n', NS, '-6', 'route', 'add', 'fd00:6::/32', 'via', 'fd00:1::3', 'dev', A);
    ip('-n', NS, '-6', 'route', 'add', 'fd00:7::/32', 'via', 'fd00:1::2', 'dev', A, 'mtu', '1300');
    ip('-n', NS, '-6', 'route', 'add', 'blackhole', 'fd00:3::/32');
    ip('-n', NS, '-6', 'route', 'add', 'unreachable', 'fd00:4::/32');
    ip('-n', NS, '-6', 'route', 'add', 'prohibit', 'fd00:5::/32');
    ip('-n', NS, '-6', 'neigh', 'add', 'fd00:1::2', 'lladdr', '02:00:00:00:00:0b', 'dev', A, 'nud', 'permanent');
    ip('netns', 'exec', NS, 'sysctl', '-qw', `net.ipv4.conf.${B}.forwarding=0`);
    const a = ifindexOf(A);
    const b = ifindexOf(B);
    const fib: FibTable = {
      devices: [{ ifindex: 1, mtu: 65536 }, { ifindex: a, mac: mac('02:00:00:00:00:0a'), mtu: 1400 }, { ifindex: b, forwarding: false }],
      routes: [
        { family: 4, dst: v4('10.1.0.0'), prefixLen: 24, ifindex: a },
        { family: 4, dst: v4('10.1.0.1'), prefixLen: 32, type: 'local', ifindex: a },
        { family: 4, dst: v4('10.1.0.255'), prefixLen: 32, type: 'local', ifindex: a },
        { family: 4, dst: v4('10.2.0.0'), prefixLen: 16, ifindex: a, gateway: v4('10.1.0.2'), metric: 5 },
        { family: 4, dst: v4('10.6.0.0'), prefixLen: 16, ifindex: a, gateway: v4('10.1.0.3') },
        { family: 4, dst: v4('10.7.0.0'), prefixLen: 16, ifindex: a, gateway: v4('10.1.0.2') },
        { family: 4, dst: v4('10.8.0.0'), prefixLen: 16, ifindex: a, gateway: v4('10.1.0.2'), mtu: 1000 },
        { family: 4, dst: v4('10.3.0.0'), prefixLen: 16, type: 'blackhole' },
        { family: 4, dst: v4('10.4.0.0'), prefixLen: 16, type: 'unreachable' },
        { family: 4, dst: v4('10.5.0.0'), prefixLen: 16, type: 'prohibit' },
      ],
      neighbours: [
        { ifindex: a, ip: v4('10.1.0.2'), mac: mac('02:00:00:00:00:0b') },
        { ifindex: a, ip: v6('fd00:1::2'), mac: mac('02:00:00:00:00:0b') },
      ],
    };
    (fib.routes as FibTable['routes'][number][]).push(
      { family: 6, dst: v6('fd00:1::'), prefixLen: 64, ifindex: a, metric: 256 },
      { family: 6, dst: v6('fd00:1::1'), prefixLen: 128, type: 'local', ifindex: a },
      { family: 6, dst: v6('fd00:2::'), prefixLen: 32, ifindex: a, gateway: v6('fd00:1::2'), metric: 5 },
      { family: 6, dst: v6('fd00:6::'), prefixLen: 32, ifindex: a, gateway: v6('fd00:1::3'), metric: 1024 },
      { family: 6, dst: v6('fd00:7::'), prefixLen: 32, ifindex: a, gateway: v6('fd00:1::2'), metric: 1024 }, // mtu 1300, not locked
      { family: 6, dst: v6('fd00:3::'), prefixLen: 32, type: 'blackhole' },
      { family: 6, dst: v6('fd00:4::'), prefixLen: 32, type: 'unreachable' },
      { family: 6, dst: v6('fd00:5::'), prefixLen: 32, type: 'prohibit' },
    );
    const cases: { params: Uint8Array; flags: number; name: string }[] = [];
    for (const dst of ['10.1.0.2', '10.1.0.9', '10.1.0.1', '10.1.0.255', '10.2.3.4', '10.6.1.1', '10.7.1.1', '10.8.1.1', '10.3.1.1', '10.4.1.1', '10.5.1.1', '192.0.2.1']) {
      for (const inIf of [1, a, b, 999]) {
        for (const totLen of [0, 999, 1000, 1001, 1400, 1401]) {
          for (const flags of [0, 4, 2, 1, 6, 0x40]) {
            if (totLen !== 0 && totLen !== 1001 && (flags !== 0 || inIf !== 1)) continue;
            cases.push({ params: params(2, inIf, dst, totLen), flags, name: `${dst} in ${inIf} tot ${totLen} flags ${flags}` });
          }
        }
      }
    }
    cases.push({ params: params(3, 1, '10.2.3.4', 0), flags: 0, name: 'family 3' });
    for (const dst of ['fd00:1::2', 'fd00:1::9', 'fd00:1::1', 'fd00:2::1', 'fd00:6::1', 'fd00:7::1', 'fd00:3::1', 'fd00:4::1', 'fd00:5::1', '2001:db8::1']) {
      for (const inIf of [1, a, b, 999]) {
        for (const totLen of [0, 1300, 1301, 1401]) {
          for (const flags of [0, 4, 2, 1]) {
            if (totLen !== 0 && (flags !== 0 || inIf !== 1)) continue;
            cases.push({ params: params6(inIf, dst, totLen), flags, name: `${dst} in ${inIf} tot ${totLen} flags ${flags}` });
          }
        }
      }
    }
    const child = fileURLToPath(new URL('./fib-child.ts', import.meta.url));
    const json = JSON.stringify(cases.map((c) => ({ params: Buffer.from(c.params).toString('hex'), flags: c.flags })));
    const kernel = JSON.parse(execFileSync('ip', ['netns', 'exec', NS, process.execPath, '--import', 'tsx', child, json], { encoding: 'utf8' })) as { retval: number; params: string }[];
    const diffs: string[] = [];
    const env = createHelperEnv({ fib });
    cases.forEach((c, i) => {
      const data = new Uint8Array(80);
      data.set(c.params);
      new DataView(data.buffer).setUint32(64, c.flags, true);
      const r = run(fibProgram(), undefined, data, { env, programType: xdpOps });
      const mine = { retval: r.retval, params: Buffer.from(r.packet.subarray(0, 64)).toString('hex') };
      if (JSON.stringify(mine) !== JSON.stringify(kernel[i])) diffs.push(`${c.name}:\n  kernel ${JSON.stringify(kernel[i])}\n  bpfkit ${JSON.stringify(mine)}`);
    });
    process.stdout.write(`# fib_lookup: ${cases.length} lookups compared with the kernel\n`);
    assert.equal(diffs.length, 0, `${diffs.length} disagreements:\n${diffs.slice(0, 6).join('\n')}`);
  } finally {
    execFileSync('ip', ['netns', 'del', NS]);
  }
});
