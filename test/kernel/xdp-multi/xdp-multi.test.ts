// XdpMultiProg on a veth pair with real traffic: run order, chain-call actions, joins and leaves without losing a packet, cleanup.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { loadObject } from '../../../src/elf/object-loader.js';
import { lookupElem } from '../../../src/kernel/bpf/map-elem.js';
import { fdById } from '../../../src/kernel/bpf/obj-id.js';
import { XdpMultiProg, type XdpProgramToLoad } from '../../../src/kernel/xdp-multi/index.js';
import { queryXdp } from '../../../src/kernel/attach/xdp.js';
import { createVethPair, sendUdp, staticNeighbour, withNetns, type Netns, type VethPair } from '../../support/netns.js';
import { ensureBpffs } from '../../support/bpffs.js';
import { repoRoot } from '../../support/fixtures.js';
import { kernelTest, u32, type CountingSys } from '../harness.js';

const C = `${repoRoot}/test/kernel/xdp-multi/c`;
const obj = (name: string, extra: Partial<XdpProgramToLoad> = {}): XdpProgramToLoad => ({
  spec: loadObject(new Uint8Array(readFileSync(`${C}/xdp_mp_${name}.o`)), { objectName: `xdp_mp_${name}` }),
  file: `xdp_mp_${name}.o`,
  ...extra,
});
const net = `10.${150 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;

/** A per-process bpffs top for the state, removed at the end. */
function withBpffs<T>(fn: (bpffs: string) => Promise<T>): Promise<T> {
  const avail = ensureBpffs();
  assert.ok(avail.ok, avail.reason);
  const bpffs = `/sys/fs/bpf/bkxm-${process.pid}`;
  return fn(bpffs).finally(() => rmSync(bpffs, { recursive: true, force: true }));
}

/** Counters of a program's ARRAY map of u64s. */
function counts(sys: CountingSys, multi: XdpMultiProg, prog: string, map: string, n: number): bigint[] {
  const p = multi.programs().find((x) => x.name === prog);
  assert.ok(p, `${prog} is loaded`);
  using m = p.map(map);
  return [...Array(n).keys()].map((k) => {
    const v = lookupElem(m.fd, u32(k));
    return v ? new DataView(v.buffer, v.byteOffset).getBigUint64(0, true) : -1n;
  });
}

/**
 * Traffic from B to A's ports 7777 and 9999 (alternating, paced) until stopped, and receivers
 * on A counting what reached the stack. Returns a stop function resolving to the figures.
 */
function traffic(nsB: Netns, dst: string, pauseUs: number): { stop: () => Promise<{ sent7777: number; sent9999: number; got7777: number; got9999: number }>; ready: Promise<void> } {
  const recvScript = [
    'import socket,select,sys,signal',
    `a=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); a.bind(("${dst}",7777))`,
    `b=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); b.bind(("${dst}",9999))`,
    'n={a:0,b:0}; stop=[False]',
    'signal.signal(signal.SIGTERM, lambda *x: stop.__setitem__(0, True))',
    'print("ready",flush=True)',
    'while True:',
    '  r,_,_=select.select([a,b],[],[],0.2)',
    '  for s in r: s.recv(2048); n[s]+=1',
    '  if stop[0] and not r: break',
    'print(n[a],n[b],flush=True)',
  ].join('\n');
  const sendScript = [
    'import socket,signal,time',
    's=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)',
    'stop=[False]; signal.signal(signal.SIGTERM, lambda *x: stop.__setitem__(0, True))',
    'c=[0,0]',
    'print("go",flush=True)',
    'while not stop[0]:',
    `  s.sendto(b"x"*32,("${dst}",7777)); c[0]+=1`,
    `  s.sendto(b"x"*32,("${dst}",9999)); c[1]+=1`,
    `  time.sleep(${pauseUs / 1e6})`,
    'print(c[0],c[1],flush=True)',
  ].join('\n');
  const recv = spawn('python3', ['-u', '-c', recvScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  let recvOut = '';
  let sendOut = '';
  let send: ReturnType<typeof spawn> | undefined;
  const ready = new Promise<void>((resolve) => {
    recv.stdout!.on('data', (d: Buffer) => {
      recvOut += d.toString();
      if (!send && recvOut.includes('ready')) {
        send = spawn('ip', ['netns', 'exec', nsB.name, 'python3', '-u', '-c', sendScript], { stdio: ['ignore', 'pipe', 'inherit'] });
        send.stdout!.on('data', (x: Buffer) => {
          sendOut += x.toString();
          if (sendOut.includes('go')) setTimeout(resolve, 100);
        });
      }
    });
  });
  const exited = (p: ReturnType<typeof spawn>) => new Promise<void>((r) => (p.exitCode !== null ? r() : p.on('exit', () => r())));
  const stop = async () => {
    send?.kill('SIGTERM');
    if (send) await exited(send);
    await new Promise((r) => setTimeout(r, 300));
    recv.kill('SIGTERM');
    await exited(recv);
    const [sent7777, sent9999] = sendOut.replace('go', '').trim().split(/\s+/).map(Number) as [number, number];
    const [got7777, got9999] = recvOut.replace('ready', '').trim().split(/\s+/).map(Number) as [number, number];
    return { sent7777, sent9999, got7777, got9999 };
  };
  return { stop, ready };
}

/** A veth pair: end A in this (the root) namespace, where XdpMultiProg works; end B in a namespace that sends. */
async function withPair<T>(fn: (nsB: Netns, pair: VethPair) => Promise<T>): Promise<T> {
  return withNetns('bkxm-', async (nsB) => {
    using pair = createVethPair({ prefix: 'bkxm', a: { address: `${net}.1/24` }, b: { ns: nsB, address: `${net}.2/24` } });
    staticNeighbour(nsB, pair.b.name, `${net}.1`, pair.a.mac);
    staticNeighbour(undefined, pair.a.name, `${net}.2`, pair.b.mac);
    return await fn(nsB, pair);
  });
}

kernelTest('xdp-multi: counter and filter run in priority order and the filter stops the chain; a third joins under traffic without a loss; unload all leaves no pins or programs', async (sys) => {
  await withBpffs(async (bpffs) =>
    withPair(async (nsB, pair) => {
      const multi = XdpMultiProg.open(sys, pair.a.name, { bpffs });
      // Loaded filter first: the run order comes from the priorities (count 10, filter 20).
      const loaded = multi.load([obj('filter'), obj('count')], { mode: 'skb' });
      assert.deepEqual(loaded.map((p) => [p.name, p.priority]), [['mp_filter', 20], ['mp_count', 10]]);
      let st = multi.status();
      assert.equal(st.kind, 'bpfkit');
      assert.equal(st.mode, 'skb');
      assert.deepEqual(st.programs.map((p) => p.name), ['mp_count', 'mp_filter']);
      assert.deepEqual(queryXdp(sys, pair.a.name).map((x) => [x.progId, x.mode, x.linkId]), [[st.progId, 'skb', st.linkId]]);
      const dir = st.stateDir!;
      assert.ok(dir.startsWith(`${bpffs}/bpfkit/xdp/dispatch-${pair.a.ifindex}-`));

      sendUdp(nsB, `${net}.1`, 7777, 40, 32);
      sendUdp(nsB, `${net}.1`, 9999, 25, 32);
      // The counter runs first, so it sees the flow the filter drops; the filter's drops end the chain.
      assert.deepEqual(counts(sys, multi, 'mp_count', 'mp_counts', 3), [65n, 40n, 25n]);
      assert.deepEqual(counts(sys, multi, 'mp_filter', 'mp_drops', 1), [25n]);
      st = multi.status();
      assert.deepEqual(st.programs.map((p) => [p.name, p.stats.packets, p.stats.verdicts['XDP_PASS'], p.stats.verdicts['XDP_DROP']]), [
        ['mp_count', 65n, 65n, 0n],
        ['mp_filter', 65n, 40n, 25n],
      ]);

      // A third program joins while traffic flows: the counter counts every packet sent, the
      // stack receives every 7777 packet, no 9999 packet leaks.
      const flow = traffic(nsB, `${net}.1`, 500);
      await flow.ready;
      await new Promise((r) => setTimeout(r, 200));
      multi.load([obj('late')]);
      await new Promise((r) => setTimeout(r, 300));
      const f = await flow.stop();
      console.log(`# third joined under traffic: sent ${f.sent7777}+${f.sent9999}, stack got ${f.got7777}+${f.got9999}`);
      assert.ok(f.sent7777 > 100, `traffic flowed (${f.sent7777})`);
      const c = counts(sys, multi, 'mp_count', 'mp_counts', 3);
      assert.equal(c[1], BigInt(40 + f.sent7777));
      assert.equal(c[2], BigInt(25 + f.sent9999));
      assert.equal(f.got7777, f.sent7777);
      assert.equal(f.got9999, 0);
      const late = counts(sys, multi, 'mp_late', 'mp_late_counts', 3);
      assert.equal(late[2], 0n, 'the late counter (after the filter) never sees the dropped flow');
      assert.ok(late[1]! > 0n && late[1]! <= BigInt(f.sent7777));
      st = multi.status();
      assert.deepEqual(st.programs.map((p) => [p.name, p.priority]), [['mp_count', 10], ['mp_filter', 20], ['mp_late', 50]]);

      // Everything goes: no XDP program, no pins, no program ids left.
      const ids = [st.progId!, ...st.programs.map((p) => p.id)];
      const gone = multi.unloadAll();
      assert.deepEqual(gone.map((g) => g.name).sort(), ['mp_count', 'mp_filter', 'mp_late']);
      assert.deepEqual(queryXdp(sys, pair.a.name), []);
      assert.equal(existsSync(dir), false);
      assert.equal(multi.status().kind, 'none');
      await new Promise((r) => setTimeout(r, 100)); // programs are freed after an RCU grace period
      for (const id of ids) assert.throws(() => fdById(sys, 'prog', id).close(), /ENOENT/, `prog ${id} is gone`);
    }),
  );
});

kernelTest('xdp-multi: 100 add/remove cycles with traffic flowing — the first program counts every packet, the filtered flow never leaks', async (sys) => {
  await withBpffs(async (bpffs) =>
    withPair(async (nsB, pair) => {
      const multi = XdpMultiProg.open(sys, pair.a.name, { bpffs });
      multi.load([obj('count'), obj('filter')], { mode: 'skb' });
      const flow = traffic(nsB, `${net}.1`, 200);
      await flow.ready;
      const started = Date.now();
      for (let i = 0; i < 100; i++) {
        // Alternately a program after the filter and one before the counter (priority 5, DROP continues).
        const [added] = multi.load([i % 2 === 0 ? obj('late') : obj('tx')]);
        assert.equal(multi.status().programs.length, 3);
        multi.unload(added!.id);
        if (i % 10 === 9) await new Promise((r) => setImmediate(r));
      }
      const ms = Date.now() - started;
      await new Promise((r) => setTimeout(r, 200));
      const f = await flow.stop();
      const c = counts(sys, multi, 'mp_count', 'mp_counts', 3);
      console.log(`# 100 add/remove cycles in ${ms} ms: sent ${f.sent7777}+${f.sent9999}, counted ${c[1]}+${c[2]}, stack got ${f.got7777}+${f.got9999}`);
      assert.ok(f.sent7777 > 200, `traffic flowed (${f.sent7777})`);
      assert.equal(c[1], BigInt(f.sent7777), 'the counter saw every 7777 packet');
      assert.equal(c[2], BigInt(f.sent9999), 'the counter saw every 9999 packet');
      assert.equal(f.got7777, f.sent7777, 'every passed packet reached the stack');
      assert.equal(f.got9999, 0, 'no dropped-flow packet leaked');
      assert.deepEqual(multi.status().programs.map((p) => p.name), ['mp_count', 'mp_filter']);
      multi.unloadAll();
    }),
  );
});
