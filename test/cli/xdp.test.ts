// `bpfkit xdp ...` as a user runs it: features of real devices; subcommand table and usage errors.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildUdp } from '../../src/packet/frame-builder.js';
import { writePcap } from '../../src/packet/pcap-writer.js';
import { ensureBpffs } from '../support/bpffs.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { XDP_SUBCOMMANDS } from '../../src/cli/xdp.js';
import { kernelTest } from '../kernel/harness.js';
import { createVethPair, nsEnter, withNetns, type Netns } from '../support/netns.js';
import { repoRoot } from '../support/fixtures.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

test('xdp: subcommands in a table; unknown subcommand and missing IFACE are usage errors', async () => {
  assert.deepEqual(Object.keys(XDP_SUBCOMMANDS).slice(0, 4), ['load', 'unload', 'status', 'features']);
  const bad = await run('xdp', 'frobnicate');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown xdp subcommand 'frobnicate' \(expected load, unload, status, features/);
  const missing = await run('xdp', 'features');
  assert.equal(missing.code, 2);
  assert.match(missing.err, /missing IFACE/);
  const help = await run('xdp', '--help');
  for (const name of Object.keys(XDP_SUBCOMMANDS)) assert.match(help.out, new RegExp(`bpfkit xdp ${name}`));
});

kernelTest('xdp features: a veth has basic, redirect and rx-sg and all three RX metadata kfuncs; lo has none; unknown interface is typed', async () => {
  await withNetns('bkxf-', async (ns) => {
    using pair = createVethPair({ prefix: 'bkxf', a: { ns }, b: { ns } });
    const cli = (...args: string[]) => JSON.parse(nsEnter(ns, ['node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, 'xdp', 'features', ...args, '-j'], { timeoutMs: 60_000 })) as Record<string, unknown>;
    const veth = cli(pair.a.name);
    assert.equal(veth['ifindex'], pair.a.ifindex);
    assert.deepEqual(veth['xdp_features'], ['basic', 'redirect', 'rx-sg']);
    assert.equal(veth['xdp_features_flags'], 0x23);
    assert.deepEqual(veth['xdp_rx_metadata_features'], ['timestamp', 'hash', 'vlan-tag']);
    const lo = cli('lo');
    assert.deepEqual([lo['ifindex'], lo['xdp_features'], lo['xdp_features_flags']], [1, [], 0]);
    const text = nsEnter(ns, ['node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, 'xdp', 'features', pair.a.name], { timeoutMs: 60_000 });
    assert.match(text, /^NETDEV_XDP_ACT_BASIC: +yes$/m);
    assert.match(text, /^NETDEV_XDP_ACT_NDO_XMIT_SG: +no$/m);
  });
  const gone = await run('xdp', 'features', 'bk-no-such0');
  assert.equal(gone.code, 1);
  assert.match(gone.err, /no such network interface: "bk-no-such0" \[ERR_NO_SUCH_INTERFACE\]/);
});

const C = `${repoRoot}/test/kernel/xdp-multi/c`;

test('run OBJ1 OBJ2 OBJ3 --pcap: the programs run as a dispatcher runs them, with per-program verdicts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bkxc-'));
  try {
    const pcap = join(dir, 'in.pcap');
    const packets: Uint8Array[] = [];
    for (let k = 0; k < 30; k++) packets.push(buildUdp({ src: '10.1.0.1', dst: '10.1.0.2', sport: 2000 + k, dport: [7777, 9999, 5555][k % 3]! }));
    writeFileSync(pcap, writePcap(packets));
    // Given out of order: the run order comes from the priorities (soft_drop 5, count 10, filter 20).
    const r = await run('run', `${C}/xdp_mp_filter.o`, `${C}/xdp_mp_count.o`, `${C}/xdp_mp_tx.o`, '--pcap', pcap, '-j');
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { packets: number; verdicts: { verdict: string; packets: number }[]; programs: { name: string; priority: number; chain_call_actions: string[]; packets: number; verdicts: { retval: number; packets: number }[] }[] };
    assert.equal(doc.packets, 30);
    assert.deepEqual(doc.programs.map((p) => [p.name, p.priority, p.chain_call_actions, p.packets]), [
      ['mp_soft_drop', 5, ['XDP_DROP', 'XDP_PASS'], 30],
      ['mp_count', 10, ['XDP_PASS'], 30],
      ['mp_filter', 20, ['XDP_PASS'], 30],
    ]);
    assert.deepEqual(doc.programs[0]!.verdicts.map((v) => [v.retval, v.packets]), [[1, 10], [2, 20]]);
    assert.deepEqual(doc.programs[2]!.verdicts.map((v) => [v.retval, v.packets]), [[1, 10], [2, 20]]);
    // 5555 dropped by soft_drop continues (DROP is a chain-call action there) and ends as XDP_PASS; 9999 ends as XDP_DROP.
    assert.deepEqual(doc.verdicts.map((v) => [v.verdict, v.packets]), [['drop', 10], ['pass', 20]]);
    const text = await run('run', `${C}/xdp_mp_filter.o`, `${C}/xdp_mp_count.o`, '--pcap', pcap);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^30 packets through 2 XDP programs/);
    assert.match(text.out, /mp_count \(priority 10, chain-call actions XDP_PASS\): 30 packets — pass 30/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The CLI in namespace `ns` through nsenter (bpffs visible), with the state under `bpffs`. */
function cliIn(ns: Netns, bpffs: string, ...args: string[]): { code: number; out: string; err: string } {
  try {
    const out = nsEnter(ns, ['env', `BPFKIT_BPFFS=${bpffs}`, 'node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, ...args], { timeoutMs: 90_000 });
    return { code: 0, out, err: '' };
  } catch (e) {
    const cause = (e as { cause?: { status?: number; stdout?: string; stderr?: string } }).cause;
    return { code: cause?.status ?? -1, out: cause?.stdout ?? '', err: cause?.stderr ?? '' };
  }
}

/** The same through `ip netns exec` (which remounts /sys: no /sys/fs/bpf). */
function cliExec(ns: Netns, env: string[], ...args: string[]): { code: number; out: string; err: string } {
  try {
    const out = ns.exec(['env', ...env, 'node', '--import', 'tsx', `${repoRoot}/src/cli/bin.ts`, ...args], { timeoutMs: 90_000 });
    return { code: 0, out, err: '' };
  } catch (e) {
    const cause = (e as { cause?: { status?: number; stdout?: string; stderr?: string } }).cause;
    return { code: cause?.status ?? -1, out: cause?.stdout ?? '', err: cause?.stderr ?? '' };
  }
}

kernelTest('xdp load/status/unload as separate processes: through nsenter and through ip netns exec (with a bpffs outside /sys); bad input refused with nothing half-attached', async () => {
  assert.ok(ensureBpffs().ok);
  const bpffs = `/sys/fs/bpf/bkxc-${process.pid}`;
  const outside = mkdtempSync(join(tmpdir(), 'bkxc-bpffs-'));
  execFileSync('mount', ['-t', 'bpf', 'bpf', outside]);
  try {
    await withNetns('bkxc-', async (ns) => {
      using pair = createVethPair({ prefix: 'bkxc', a: { ns }, b: { ns } });
      const dev = pair.a.name;
      const load = cliIn(ns, bpffs, 'xdp', 'load', dev, `${C}/xdp_mp_filter.o`, `${C}/xdp_mp_count.o`, '--mode', 'skb', '-j');
      assert.equal(load.code, 0, load.err);
      const loaded = JSON.parse(load.out) as { loaded: { name: string; id: number }[]; status: { prog_id: number; programs: { name: string; id: number }[] } };
      assert.deepEqual(loaded.status.programs.map((p) => p.name), ['mp_count', 'mp_filter']);
      // Another process sees the same dispatcher and adds to it with its own priority and actions.
      const more = cliIn(ns, bpffs, 'xdp', 'load', dev, `${C}/xdp_mp_late.o`, '--prio', '15', '--actions', 'pass,drop');
      assert.equal(more.code, 0, more.err);
      const st = cliIn(ns, bpffs, 'xdp', 'status', dev);
      assert.equal(st.code, 0, st.err);
      assert.match(st.out, /bpfkit_dispatch\s+skb\s+\d+\s+\(bpfkit dispatcher\)/);
      assert.match(st.out, / =>\s+10\s+mp_count\s+\d+\s+[0-9a-f]{16}\s+XDP_PASS\n =>\s+15\s+mp_late\s+\d+\s+[0-9a-f]{16}\s+XDP_DROP,XDP_PASS\n =>\s+20\s+mp_filter/);
      // xdp-loader sees one program attached, the dispatcher.
      const xl = nsEnter(ns, ['xdp-loader', 'status', dev]);
      assert.match(xl, new RegExp(`${dev}\\s+bpfkit_dispatch\\s+skb\\s+\\d+`));

      // Bad input: mixing modes, more programs than slots, an unknown id — each refused, the chain unchanged.
      const mixed = cliIn(ns, bpffs, 'xdp', 'load', dev, `${C}/xdp_mp_tx.o`, '--mode', 'native');
      assert.equal(mixed.code, 1);
      assert.match(mixed.err, /runs in skb mode, cannot add programs in native mode .*\[ERR_XDP_MODE_MISMATCH\]/);
      const many = cliIn(ns, bpffs, 'xdp', 'load', dev, ...Array(8).fill(`${C}/xdp_mp_tx.o`));
      assert.equal(many.code, 1);
      assert.match(many.err, /3 program\(s\) loaded \+ 8 to add > 10 dispatcher slots.*\[ERR_XDP_TOO_MANY_PROGRAMS\]/);
      const noid = cliIn(ns, bpffs, 'xdp', 'unload', dev, '--id', '1');
      assert.equal(noid.code, 1);
      assert.match(noid.err, /no program with id 1 in the dispatcher \(loaded: .*\) \[ERR_XDP_NO_SUCH_PROGRAM\]/);
      const after = JSON.parse(cliIn(ns, bpffs, 'xdp', 'status', dev, '-j').out) as { programs: { name: string; id: number }[]; prog_id: number }[];
      assert.deepEqual(after[0]!.programs.map((p) => p.name), ['mp_count', 'mp_late', 'mp_filter']);
      assert.equal(after[0]!.prog_id, (JSON.parse(cliIn(ns, bpffs, 'xdp', 'status', dev, '-j').out) as { prog_id: number }[])[0]!.prog_id);

      // unload --id, then --all: nothing left attached or pinned.
      const lateId = after[0]!.programs[1]!.id;
      const one = cliIn(ns, bpffs, 'xdp', 'unload', dev, '--id', String(lateId));
      assert.equal(one.code, 0, one.err);
      assert.equal(one.out, `unloaded mp_late (prog id ${lateId}) from ${dev}\n`);
      const all = cliIn(ns, bpffs, 'xdp', 'unload', dev, '--all');
      assert.equal(all.code, 0, all.err);
      assert.deepEqual(readdirSync(`${bpffs}/bpfkit/xdp`), []);
      assert.doesNotMatch(ns.exec(['ip', 'link', 'show', dev]), /xdp/);

      // A plain program in the way: refused with how to replace it; unload --all removes it.
      const plain = cliIn(ns, bpffs, 'attach', 'xdp', `${C}/xdp_mp_count.o`, '--dev', dev, '--mode', 'skb', '-j');
      assert.equal(plain.code, 0, plain.err);
      const plainId = (JSON.parse(plain.out) as { prog_id: number }).prog_id;
      const refused = cliIn(ns, bpffs, 'xdp', 'load', dev, `${C}/xdp_mp_filter.o`);
      assert.equal(refused.code, 1);
      assert.match(refused.err, new RegExp(`a plain XDP program is attached \\(prog ${plainId} "mp_count", skb mode\\).*bpfkit detach xdp --dev ${dev}.*\\[ERR_XDP_NOT_A_DISPATCHER\\]`));
      assert.equal(cliIn(ns, bpffs, 'xdp', 'unload', dev, '--all').code, 0);
      assert.doesNotMatch(ns.exec(['ip', 'link', 'show', dev]), /xdp/);

      // ip netns exec hides /sys/fs/bpf: a typed error saying what to do; with BPFKIT_BPFFS on a bpffs outside /sys it works.
      const hidden = cliExec(ns, [], 'xdp', 'load', dev, `${C}/xdp_mp_count.o`);
      assert.equal(hidden.code, 1);
      assert.match(hidden.err, /not in a mounted bpffs.*nsenter --net=\/run\/netns\/NAME.*BPFKIT_BPFFS=.*\[ERR_NOT_BPFFS\]/);
      const viaExec = cliExec(ns, [`BPFKIT_BPFFS=${outside}`], 'xdp', 'load', dev, `${C}/xdp_mp_count.o`, `${C}/xdp_mp_filter.o`, '--mode', 'skb');
      assert.equal(viaExec.code, 0, viaExec.err);
      const seen = JSON.parse(cliIn(ns, outside, 'xdp', 'status', dev, '-j').out) as { kind: string; programs: unknown[] }[];
      assert.deepEqual([seen[0]!.kind, seen[0]!.programs.length], ['bpfkit', 2]);
      assert.equal(cliExec(ns, [`BPFKIT_BPFFS=${outside}`], 'xdp', 'unload', dev, '--all').code, 0);
      assert.deepEqual(readdirSync(`${outside}/bpfkit/xdp`), []);
    });
  } finally {
    execFileSync('umount', [outside]);
    rmSync(outside, { recursive: true, force: true });
    rmSync(bpffs, { recursive: true, force: true });
  }
});
