// `bpfkit xdp dump` as a child process in a namespace: datagrams across a veth pair captured at entry (pcapng, byte for
// byte what tcpdump saw leave the peer, readable by tcpdump) and at entry+exit with --obj (actions equal the program's
// verdicts), the original program back after -c, Ctrl-C and kill -9 (the guardian), bad input one line and exit 1.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PcapngOption } from '../../src/packet/capture-format.js';
import { repoRoot } from '../support/fixtures.js';
import { createVethPair, nsEnter, nsExec, sendUdp, staticNeighbour, withNetns, type Netns, type VethPair } from '../support/netns.js';
import { kernelTest } from '../kernel/harness.js';

const net = `10.${100 + (process.pid % 50)}.${((process.pid >> 6) % 250) + 1}`;
const BIN = `${repoRoot}/src/cli/bin.ts`;
const OBJ = path.join(import.meta.dirname, 'c', 'xdp_verdict.o');

interface Done {
  code: number | null;
  signal: string | null;
  out: string;
  err: string;
}

/** Starts `cmd` in `ns`; resolves once its stderr matches `ready`. */
function start(ns: Netns, cmd: string[], ready: RegExp): Promise<{ child: ReturnType<typeof spawn>; done: Promise<Done> }> {
  const child = spawn('nsenter', [`--net=/run/netns/${ns.name}`, ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<Done>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) resolve({ child, done });
    });
    void done.then((r) => reject(new Error(`exited before ready: ${r.code} ${r.err}`)));
    setTimeout(() => reject(new Error(`not ready: ${err}`)), 90_000).unref();
  });
}

const bpfkit = (...args: string[]): string[] => ['node', '--import', 'tsx', BIN, ...args];
const xdpProgId = (ns: Netns, dev: string): number | undefined => (JSON.parse(nsExec(ns, ['ip', '-j', 'link', 'show', 'dev', dev])) as { xdp?: { prog?: { id: number } } }[])[0]?.xdp?.prog?.id;
const xdpProgName = (ns: Netns, dev: string): string | undefined => (JSON.parse(nsExec(ns, ['ip', '-j', 'link', 'show', 'dev', dev])) as { xdp?: { prog?: { name: string } } }[])[0]?.xdp?.prog?.name;
/** Packets of a capture as tcpdump prints them: no timestamps, every byte in hex. */
const tcpdumpHex = (file: string): string[] =>
  execFileSync('tcpdump', ['-r', file, '-nn', '-t', '-xx'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    .split(/\n(?=\S)/)
    .filter((b) => b.trim() !== '');

/** Packets in a capture tcpdump is still writing (0 while unreadable). */
function peerCount(file: string): number {
  try {
    return tcpdumpHex(file).length;
  } catch {
    return 0;
  }
}

/** The EPB options of a pcapng file, per packet: comment, queue, verdict. */
function epbOptions(bytes: Uint8Array): { ifid: number; comment?: string; queue?: number; verdict?: bigint; flags?: number }[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: { ifid: number; comment?: string; queue?: number; verdict?: bigint; flags?: number }[] = [];
  for (let off = 0; off < bytes.length; ) {
    const type = dv.getUint32(off, true);
    const len = dv.getUint32(off + 4, true);
    if (type === 6) {
      const cap = dv.getUint32(off + 20, true);
      const rec: (typeof out)[number] = { ifid: dv.getUint32(off + 8, true) };
      for (let o = off + 28 + Math.ceil(cap / 4) * 4; o < off + len - 4; ) {
        const code = dv.getUint16(o, true);
        const l = dv.getUint16(o + 2, true);
        if (code === 0) break;
        if (code === PcapngOption.COMMENT) rec.comment = new TextDecoder().decode(bytes.subarray(o + 4, o + 4 + l));
        if (code === PcapngOption.EPB_QUEUE) rec.queue = dv.getUint32(o + 4, true);
        if (code === PcapngOption.EPB_FLAGS) rec.flags = dv.getUint32(o + 4, true);
        if (code === PcapngOption.EPB_VERDICT) {
          assert.equal(bytes[o + 4], 2, 'verdict type: eBPF XDP');
          rec.verdict = dv.getBigInt64(o + 5, true);
        }
        o += 4 + Math.ceil(l / 4) * 4;
      }
      out.push(rec);
    }
    off += len;
  }
  return out;
}

async function withPair(fn: (nsA: Netns, nsB: Netns, pair: VethPair, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-xdpdump-'));
  try {
    await withNetns('bpfkit-xd-', async (nsA) =>
      withNetns('bpfkit-xd-', async (nsB) => {
        using pair = createVethPair({ prefix: 'bkxd', a: { ns: nsA, address: `${net}.1/24` }, b: { ns: nsB, address: `${net}.2/24` } });
        staticNeighbour(nsA, pair.a.name, `${net}.2`, pair.b.mac);
        staticNeighbour(nsB, pair.b.name, `${net}.1`, pair.a.mac);
        await fn(nsA, nsB, pair, dir);
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

kernelTest('xdp dump at entry (netlink-attached program): N datagrams, N captured, bytes identical to tcpdump on the peer; -c ends it and the program is back', async () => {
  await withPair(async (nsA, nsB, pair, dir) => {
    nsEnter(nsB, bpfkit('attach', 'xdp', OBJ, '--dev', pair.b.name, '--mode', 'skb'));
    const orig = xdpProgId(nsB, pair.b.name);
    assert.ok(orig);
    const peer = path.join(dir, 'peer.pcap');
    const file = path.join(dir, 'dump.pcapng');
    // --immediate-mode: without it libpcap hands packets over a ring block at a time (or at its
    // timeout), and a SIGINT can end tcpdump before the last block reaches the file.
    const td = await start(nsA, ['tcpdump', '-i', pair.a.name, '-nn', '-U', '--immediate-mode', '-w', peer, 'udp'], /listening on/);
    const dump = await start(nsB, bpfkit('xdp', 'dump', '--dev', pair.b.name, '-w', file, '-c', '25'), /listening on/);
    assert.equal(xdpProgName(nsB, pair.b.name), 'bpfkit_xdpdump', 'the recorder is in front');
    sendUdp(nsA, `${net}.2`, 9, 15, 100, 40000);
    sendUdp(nsA, `${net}.2`, 7777, 10, 300, 40001);
    const r = await dump.done;
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /25 packets captured/);
    // Stop the peer's tcpdump once its file holds every datagram (at most 10 s).
    for (let waited = 0; waited < 10_000 && peerCount(peer) < 25; waited += 100) await new Promise((res) => setTimeout(res, 100));
    td.child.kill('SIGINT');
    await td.done;
    assert.equal(xdpProgId(nsB, pair.b.name), orig, 'the original program is back');
    const ours = tcpdumpHex(file);
    const theirs = tcpdumpHex(peer);
    assert.equal(ours.length, 25, 'tcpdump reads all 25 packets of the pcapng');
    assert.deepEqual(ours, theirs, 'byte for byte what left the peer');
    const opts = epbOptions(new Uint8Array(readFileSync(file)));
    assert.equal(opts.length, 25);
    assert.ok(opts.every((o) => o.ifid === 0 && o.flags === 1 && o.queue === 0 && o.verdict === undefined && /^id: \d+, queue: 0$/.test(o.comment ?? '')));
  });
});

kernelTest('xdp dump --at both --obj (link-attached program): exit actions equal the verdicts, Ctrl-C leaves a complete file and the link on the original', async () => {
  await withPair(async (nsA, nsB, pair, dir) => {
    const pin = `/sys/fs/bpf/bpfkit-xd-${process.pid}`;
    try {
      nsEnter(nsB, bpfkit('attach', 'xdp', OBJ, '--dev', pair.b.name, '--mode', 'skb', '--pin', pin));
      const orig = xdpProgId(nsB, pair.b.name);
      const file = path.join(dir, 'both.pcapng');
      const dump = await start(nsB, bpfkit('xdp', 'dump', '--dev', pair.b.name, '--at', 'both', '--obj', OBJ, '-w', file), /through link/);
      sendUdp(nsA, `${net}.2`, 9, 12, 64, 40000); // XDP_PASS
      sendUdp(nsA, `${net}.2`, 7777, 8, 64, 40001); // XDP_DROP
      await new Promise((res) => setTimeout(res, 500));
      dump.child.kill('SIGINT');
      const r = await dump.done;
      assert.equal(r.code, 0, r.err);
      assert.equal(xdpProgId(nsB, pair.b.name), orig, 'the link runs the original again');
      const opts = epbOptions(new Uint8Array(readFileSync(file)));
      assert.equal(opts.length, 40, 'entry and exit of 20 packets');
      const exits = opts.filter((o) => o.ifid === 1);
      assert.deepEqual([exits.filter((o) => o.verdict === 2n).length, exits.filter((o) => o.verdict === 1n).length], [12, 8]);
      assert.ok(exits.every((o) => /^id: \d+, queue: 0, action: [12]\[(PASS|DROP)\]$/.test(o.comment ?? '')), String(exits[0]?.comment));
      // Each packet's entry and exit share an id.
      const entryIds = opts.filter((o) => o.ifid === 0).map((o) => o.comment!.split(',')[0]);
      assert.deepEqual(exits.map((o) => o.comment!.split(',')[0]), entryIds);
      const hex = tcpdumpHex(file);
      assert.equal(hex.length, 40, 'tcpdump reads the file whole');
      // The program's own map kept counting through the capture: its verdicts map shows the 8 drops.
      const progId = String(orig);
      const mapId = (JSON.parse(execFileSync('bpftool', ['prog', 'show', 'id', progId, '-j'], { encoding: 'utf8' })) as { map_ids: number[] }).map_ids[0]!;
      const drops = (JSON.parse(execFileSync('bpftool', ['map', 'lookup', 'id', String(mapId), 'key', '1', '0', '0', '0', '-j'], { encoding: 'utf8' })) as { formatted?: { value: number } }).formatted?.value;
      assert.equal(drops, 8, 'the recorder ran the program with its own maps');
    } finally {
      rmSync(pin, { force: true });
    }
  });
});

kernelTest('xdp dump killed with SIGKILL: the guardian puts the original program back', async () => {
  await withPair(async (nsA, nsB, pair) => {
    nsEnter(nsB, bpfkit('attach', 'xdp', OBJ, '--dev', pair.b.name, '--mode', 'skb'));
    const orig = xdpProgId(nsB, pair.b.name);
    const dump = await start(nsB, bpfkit('xdp', 'dump', '--dev', pair.b.name), /listening on/);
    sendUdp(nsA, `${net}.2`, 9, 3, 64, 40000);
    assert.equal(xdpProgName(nsB, pair.b.name), 'bpfkit_xdpdump');
    dump.child.kill('SIGKILL');
    const r = await dump.done;
    assert.equal(r.signal, 'SIGKILL');
    let now = xdpProgId(nsB, pair.b.name);
    for (let i = 0; i < 100 && now !== orig; i++) {
      await new Promise((res) => setTimeout(res, 100));
      now = xdpProgId(nsB, pair.b.name);
    }
    assert.equal(now, orig, 'restored by the guardian');
  });
});

kernelTest('xdp dump bad input: no XDP program, --at exit without --obj, a wrong --obj — one line, exit 1, nothing attached', async () => {
  await withPair(async (_nsA, nsB, pair) => {
    const run = (...args: string[]): { code: number; err: string } => {
      try {
        nsEnter(nsB, bpfkit(...args));
        return { code: 0, err: '' };
      } catch (e) {
        const c = (e as { cause?: { status?: number; stderr?: string } }).cause;
        return { code: c?.status ?? -1, err: c?.stderr ?? '' };
      }
    };
    let r = run('xdp', 'dump', '--dev', pair.b.name);
    assert.equal(r.code, 1);
    assert.match(r.err, /no XDP program is attached to bkxd.*b: .*\[ERR_NO_XDP_PROGRAM\]/);
    assert.equal(r.err.trim().split('\n').length, 1);
    nsEnter(nsB, bpfkit('attach', 'xdp', OBJ, '--dev', pair.b.name, '--mode', 'skb'));
    const orig = xdpProgId(nsB, pair.b.name);
    r = run('xdp', 'dump', '--dev', pair.b.name, '--at', 'exit');
    assert.equal(r.code, 1);
    assert.match(r.err, /capturing at exit needs the attached program's object \(--obj FILE\).*\[ERR_EXIT_CAPTURE\]/);
    r = run('xdp', 'dump', '--dev', pair.b.name, '--at', 'exit', '--obj', `${repoRoot}/test/fixtures/xdp_stats.o`);
    assert.equal(r.code, 1);
    assert.match(r.err, /ERR_EXIT_CAPTURE/);
    assert.equal(r.err.trim().split('\n').length, 1);
    assert.equal(xdpProgId(nsB, pair.b.name), orig);
    const left = (JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as { name?: string }[]).filter((p) => p.name === 'bpfkit_xdpdump');
    assert.deepEqual(left, []);
  });
});
