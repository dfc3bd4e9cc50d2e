// `bpfkit trace drops` as a child process in a namespace: drops of known reasons made across a veth pair are counted
// exactly (NO_SOCKET, a TC program's TC_INGRESS, nftables' NETFILTER_DROP), Ctrl-C and --duration end it cleanly,
// --pin keeps counting for `bpfkit metrics` (bpfkit_packet_drops_total by reason), bad input is one line and exit 1.
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { encode } from '../../src/isa/encode.js';
import { alu64, exit, jmp, label, ldx, program } from '../../src/isa/builder.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { pinObject } from '../../src/kernel/bpf/obj-pin.js';
import { ProgType } from '../../src/kernel/bpf/constants.js';
import { repoRoot } from '../support/fixtures.js';
import { createVethPair, nsEnter, nsExec, sendUdp, staticNeighbour, withNetns, type Netns } from '../support/netns.js';
import { kernelTest } from '../kernel/harness.js';

const net = `10.${150 + (process.pid % 50)}.${((process.pid >> 6) % 250) + 1}`;
const BIN = `${repoRoot}/src/cli/bin.ts`;

/** Starts `bpfkit ARGS` in `ns` (nsenter: bpffs stays visible); resolves once it said it is counting. */
function start(ns: Netns, args: string[]): Promise<{ child: ReturnType<typeof spawn>; done: Promise<{ code: number | null; signal: string | null; out: string; err: string }> }> {
  const child = spawn('nsenter', [`--net=/run/netns/${ns.name}`, 'node', '--import', 'tsx', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/counting drops/.test(err)) resolve({ child, done });
    });
    void done.then((r) => reject(new Error(`bpfkit exited before counting: ${r.code} ${r.err}`)));
    setTimeout(() => reject(new Error(`bpfkit did not start: ${err}`)), 60_000).unref();
  });
}

/** A TC ingress program dropping UDP to port 8888 (TC_ACT_SHOT), built with the builder. */
function tcDropProgram(): Uint8Array {
  return encode(program(
    ldx.w(2, 1, 76), // skb->data
    ldx.w(3, 1, 80), // skb->data_end
    alu64.mov.reg(4, 2),
    alu64.add.imm(4, 38),
    jmp.jgt.reg(4, 3, 'pass'),
    ldx.b(5, 2, 23),
    jmp.jne.imm(5, 17, 'pass'),
    ldx.h(5, 2, 36),
    jmp.jne.imm(5, 0xb822, 'pass'), // htons(8888)
    alu64.mov.imm(0, 2),
    exit(),
    label('pass'),
    alu64.mov.imm(0, 0),
    exit(),
  ));
}

/** Our drop programs still loaded (as JSON text, '[]' when none). */
const ours = (): string => JSON.stringify((JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })) as { id: number; name?: string }[]).filter((p) => p.name === 'bpfkit_drops').map((p) => p.id));

kernelTest('trace drops: exact counts of NO_SOCKET, TC_INGRESS and NETFILTER_DROP drops on one device; Ctrl-C prints the JSON summary and detaches', async (sys) => {
  const hasNft = (() => {
    try {
      execFileSync('nft', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  await withNetns('bpfkit-tr-', async (nsA) =>
    withNetns('bpfkit-tr-', async (nsB) => {
      using pair = createVethPair({ prefix: 'bktr', a: { ns: nsA, address: `${net}.1/24` }, b: { ns: nsB, address: `${net}.2/24` } });
      staticNeighbour(nsA, pair.a.name, `${net}.2`, pair.b.mac);
      staticNeighbour(nsB, pair.b.name, `${net}.1`, pair.a.mac);
      // A TC program's drop: UDP to 8888 shot at ingress of b (clsact, tc filter with our program pinned).
      using tcProg = loadProgram(sys, { type: ProgType.SCHED_CLS, insns: tcDropProgram(), license: 'GPL', name: 'bk_tc_drop' });
      const pin = `/sys/fs/bpf/bpfkit-tr-tc-${process.pid}`;
      pinObject(tcProg, pin);
      try {
        nsExec(nsB, ['tc', 'qdisc', 'add', 'dev', pair.b.name, 'clsact']);
        nsEnter(nsB, ['tc', 'filter', 'add', 'dev', pair.b.name, 'ingress', 'bpf', 'direct-action', 'pinned', pin]);
        if (hasNft) {
          nsExec(nsB, ['nft', 'add', 'table', 'inet', 'bk']);
          nsExec(nsB, ['nft', 'add chain inet bk in { type filter hook input priority 0; policy accept; }']);
          nsExec(nsB, ['nft', 'add rule inet bk in udp dport 7777 drop']);
        }
        const { child, done } = await start(nsB, ['trace', 'drops', '--dev', pair.b.name, '-j']);
        sendUdp(nsA, `${net}.2`, 9, 23, 64, 40000); // closed port: NO_SOCKET
        sendUdp(nsA, `${net}.2`, 8888, 17, 64, 40001); // TC_INGRESS
        if (hasNft) sendUdp(nsA, `${net}.2`, 7777, 11, 64, 40002); // NETFILTER_DROP
        await new Promise((r) => setTimeout(r, 300));
        child.kill('SIGINT');
        const r = await done;
        assert.equal(r.code, 0, r.err);
        const lines = r.out.trim().split('\n');
        assert.equal(lines.length, 1, 'one JSON summary');
        const rows = (JSON.parse(lines[0]!) as { drops: Record<string, unknown>[] }).drops;
        const pick = (reason: string): Record<string, unknown>[] => rows.filter((x) => x['reason'] === reason);
        const noSock = pick('NO_SOCKET');
        assert.equal(noSock.length, 1, JSON.stringify(rows));
        assert.deepEqual(
          { ...noSock[0], location: String(noSock[0]!['location']).replace(/\+0x[0-9a-f]+$/, '') },
          { reason: 'NO_SOCKET', location: '__udp4_lib_rcv', dev: pair.b.name, ifindex: pair.b.ifindex, netns: statSync(`/run/netns/${nsB.name}`).ino, protocol: 'udp', saddr: `${net}.1`, daddr: `${net}.2`, sport: 40000, dport: 9, count: 23 },
        );
        const tc = pick('TC_INGRESS');
        assert.deepEqual(tc.map((x) => [x['count'], x['dport'], x['dev']]), [[17, 8888, pair.b.name]]);
        if (hasNft) assert.deepEqual(pick('NETFILTER_DROP').map((x) => [x['count'], x['dport'], x['protocol']]), [[11, 7777, 'udp']]);
        for (const x of rows) assert.equal(x['dev'], pair.b.name, 'only drops on --dev');
        assert.equal(rows.reduce((n, x) => n + Number(x['count']), 0), 23 + 17 + (hasNft ? 11 : 0), `no other drops on ${pair.b.name}: ${JSON.stringify(rows)}`);
        assert.equal(ours(), '[]', 'the program is gone after Ctrl-C');
      } finally {
        rmSync(pin, { force: true });
      }
    }),
  );
});

kernelTest('trace drops --duration with a live table; --pin keeps counting and bpfkit metrics exports bpfkit_packet_drops_total by reason', async () => {
  await withNetns('bpfkit-tr-', async (ns) => {
    nsExec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    // --duration leaves room for the datagrams to be sent on a loaded machine (spawning the sender took >2 s at load 20).
    const { done } = await start(ns, ['trace', 'drops', '--dev', 'lo', '--duration', '8', '--interval', '0.5']);
    sendUdp(ns, '127.0.0.1', 9, 5, 8, 41000);
    const r = await done;
    assert.equal(r.code, 0, r.err);
    assert.ok((r.out.match(/^--- \d\d:\d\d:\d\d {2}\d+ drops$/gm) ?? []).length >= 2, r.out);
    const total = r.out.slice(r.out.indexOf('--- total'));
    assert.match(total, /^--- total {2}5 drops\n {2}COUNT +REASON +LOCATION +DEV +PROTOCOL +FLOW\n {2}5 +NO_SOCKET +__udp4_lib_rcv\+0x[0-9a-f]+ +lo\(1\) +udp +127\.0\.0\.1:41000 > 127\.0\.0\.1:9\n$/);
    assert.equal(ours(), '[]');

    const dir = `/sys/fs/bpf/bpfkit-tr-pin-${process.pid}`;
    try {
      const p = nsEnter(ns, ['node', '--import', 'tsx', BIN, 'trace', 'drops', '--dev', 'lo', '--pin', dir, '-j']);
      assert.deepEqual(JSON.parse(p).link, `${dir}/link`);
      sendUdp(ns, '127.0.0.1', 9, 6, 8, 41001);
      const scrape = execFileSync('node', ['--import', 'tsx', BIN, 'metrics'], { encoding: 'utf8' });
      const line = scrape.split('\n').find((l) => l.startsWith('bpfkit_packet_drops_total{reason="NO_SOCKET"}'));
      assert.ok(line && Number(line.split(' ')[1]) >= 6, `metrics: ${line}`);
      assert.match(scrape, /# TYPE bpfkit_packet_drops_total counter/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ours(), '[]', 'removing the pins ends the counting');
  });
});

kernelTest('trace drops: an unknown --dev and a bad --duration are one line, exit 1/2, nothing left attached', async () => {
  for (const [args, code, msg] of [
    [['trace', 'drops', '--dev', 'bk-no-such0', '--duration', '1'], 1, /no such network interface: "bk-no-such0" \[ERR_NO_SUCH_INTERFACE\]/],
    [['trace', 'drops', '--duration', 'soon'], 2, /--duration must be a positive number of seconds, got 'soon'/],
    [['trace', 'flows'], 2, /trace what\? expected drops, got 'flows'/],
  ] as const) {
    let r: { code: number; err: string };
    try {
      execFileSync('node', ['--import', 'tsx', BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      r = { code: 0, err: '' };
    } catch (e) {
      const x = e as { status: number; stderr: string };
      r = { code: x.status, err: x.stderr };
    }
    assert.equal(r.code, code, r.err);
    assert.match(r.err, msg);
    if (code === 1) assert.equal(r.err.trim().split('\n').length, 1);
  }
  assert.equal(ours(), '[]');
  assert.ok(!existsSync('/sys/fs/bpf/bpfkit-tr-none'));
});
