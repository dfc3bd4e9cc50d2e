// Real traffic across a veth pair: XDP per-CPU stats count what was sent; the TC allow-list delivers one flow, drops the rest.
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { loadObject, objectNameFromPath } from '../../../src/elf/object-loader.js';
import type { ObjectSpec } from '../../../src/elf/object-spec.js';
import { lookupElem, updateElem } from '../../../src/kernel/bpf/map-elem.js';
import { splitPerCpu } from '../../../src/kernel/bpf/map-fd.js';
import { attachTc } from '../../../src/kernel/attach/tc.js';
import { attachXdp, type XdpMode } from '../../../src/kernel/attach/xdp.js';
import { loadKernelObject } from '../../../src/kernel/object/load-object.js';
import { createVethPair, sendIcmpEcho, sendUdp, staticNeighbour, withNetns } from '../../support/netns.js';
import { repoRoot } from '../../support/fixtures.js';
import { kernelTest, u32 } from '../harness.js';
import { ipLinkXdp, tcFilters } from './oracle.js';

const spec = (rel: string): ObjectSpec => loadObject(new Uint8Array(readFileSync(`${repoRoot}/${rel}`)), { objectName: objectNameFromPath(rel) });

const XDP_PASS = 2;
const ETH_IP_UDP = 14 + 20 + 8;

// Subnet per test process, so concurrent runs do not collide.
const net = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;

for (const mode of ['skb', 'native'] as XdpMode[]) {
  kernelTest(`xdp_stats in ${mode} mode: per-CPU packet and byte counters sum to the UDP and ICMP traffic sent`, async (sys) => {
    await withNetns('bpfkit-at-', async (ns) => {
      using pair = createVethPair({ prefix: 'bkat', b: { ns, address: `${net}.2/24` } });
      staticNeighbour(ns, pair.b.name, `${net}.1`, pair.a.mac);
      using obj = loadKernelObject(sys, spec('examples/xdp_stats.o'));
      const prog = obj.program('xdp_stats_prog');
      using _att = attachXdp(sys, prog.fd, pair.a.name, { mode });
      assert.equal(ipLinkXdp(undefined, pair.a.name)[0]?.mode, mode === 'skb' ? 2 : 1);
      const [udpCount, udpSize, icmpCount, icmpSize] = [37, 100, 11, 56];
      sendUdp(ns, `${net}.1`, 9, udpCount, udpSize);
      sendIcmpEcho(ns, `${net}.1`, icmpCount, icmpSize);
      const map = obj.map('xdp_stats_map').fd;
      const raw = lookupElem(map, u32(XDP_PASS));
      assert.ok(raw);
      const perCpu = splitPerCpu(raw, 16).map((v) => {
        const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
        return { packets: dv.getBigUint64(0, true), bytes: dv.getBigUint64(8, true) };
      });
      const packets = perCpu.reduce((s, c) => s + c.packets, 0n);
      const bytes = perCpu.reduce((s, c) => s + c.bytes, 0n);
      const expectPackets = udpCount + icmpCount;
      const expectBytes = udpCount * (ETH_IP_UDP + udpSize) + icmpCount * (ETH_IP_UDP + icmpSize);
      console.log(`# ${mode}: ${packets} packets / ${bytes} bytes over ${perCpu.filter((c) => c.packets > 0n).length} of ${perCpu.length} CPUs; sent ${expectPackets} / ${expectBytes}`);
      assert.equal(packets, BigInt(expectPackets));
      assert.equal(bytes, BigInt(expectBytes));
      // Other actions stay at zero.
      for (const action of [0, 1, 3, 4]) {
        const other = lookupElem(map, u32(action));
        assert.ok(other && other.every((b) => b === 0), `action ${action} counted`);
      }
    });
  });
}

/** `struct flow_key` of tc_flow_filter.c for an IPv4 UDP flow. */
function flowKey(src: string, dst: string, sport: number, dport: number): Uint8Array {
  const k = new Uint8Array(40);
  const dv = new DataView(k.buffer);
  k[0] = 2; // AF_INET
  k[1] = 17; // UDP
  dv.setUint16(4, sport, false);
  dv.setUint16(6, dport, false);
  k.set(src.split('.').map(Number), 8);
  k.set(dst.split('.').map(Number), 24);
  return k;
}

/** Receives datagrams on `addr:port` in this (root) namespace; `count()` reads how many arrived. */
async function receiver(addr: string, port: number): Promise<{ count: () => number; close: () => Promise<void> }> {
  const sock = createSocket('udp4');
  let n = 0;
  sock.on('message', () => n++);
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, addr, () => resolve());
  });
  return { count: () => n, close: () => new Promise<void>((r) => sock.close(() => r())) };
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

for (const classic of [false, true]) {
  kernelTest(`tc_flow_filter on ingress via ${classic ? 'clsact + cls_bpf' : 'TCX'}: the allowed flow is delivered, the others dropped`, async (sys) => {
    await withNetns('bpfkit-at-', async (ns) => {
      using pair = createVethPair({ prefix: 'bkat', a: { address: `${net}.1/24` }, b: { ns, address: `${net}.2/24` } });
      staticNeighbour(ns, pair.b.name, `${net}.1`, pair.a.mac);
      using obj = loadKernelObject(sys, spec('test/fixtures/tc_flow_filter.o'));
      const prog = obj.program('tc_flow_filter');
      using att = attachTc(sys, prog.fd, pair.a.name, { direction: 'ingress', classic });
      if (classic) {
        assert.deepEqual(tcFilters(undefined, pair.a.name, 'ingress').map((f) => [f.pref, f.handle, f.progId, f.da]), [[1, 1, att.progId, true]]);
      } else {
        assert.equal(att.via, 'tcx');
        assert.deepEqual(tcFilters(undefined, pair.a.name, 'ingress'), []);
      }
      const allowed = flowKey(`${net}.2`, `${net}.1`, 5001, 7001);
      updateElem(obj.map('allowed_flows').fd, allowed, new Uint8Array(8));
      const ok = await receiver(`${net}.1`, 7001);
      const blocked = await receiver(`${net}.1`, 7002);
      try {
        sendUdp(ns, `${net}.1`, 7001, 10, 32, 5001);
        sendUdp(ns, `${net}.1`, 7002, 7, 32, 5001);
        sendUdp(ns, `${net}.1`, 7001, 5, 32, 5002); // right port, wrong source port: another flow
        await until(() => ok.count() >= 10);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal(ok.count(), 10, 'allowed flow delivered');
        assert.equal(blocked.count(), 0, 'other flow dropped');
      } finally {
        await ok.close();
        await blocked.close();
      }
      const hits = lookupElem(obj.map('allowed_flows').fd, allowed);
      assert.ok(hits);
      assert.equal(new DataView(hits.buffer).getBigUint64(0, true), 10n);
      const verdicts = obj.map('verdicts').fd;
      const sum = (slot: number): bigint => splitPerCpu(lookupElem(verdicts, u32(slot)) ?? new Uint8Array(0), 8).reduce((s, v) => s + new DataView(v.buffer, v.byteOffset).getBigUint64(0, true), 0n);
      console.log(`# ${classic ? 'clsact' : 'tcx'}: pass ${sum(0)} drop ${sum(1)} non-ip ${sum(2)}`);
      assert.equal(sum(0), 10n);
      assert.equal(sum(1), 12n);
    });
  });
}
