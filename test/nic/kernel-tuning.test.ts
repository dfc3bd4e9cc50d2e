// `bpfkit nic` on a real veth: apply with a forced failure rolls back, audit --apply + restore round trip, CLI errors; ethtool is the oracle.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { EthtoolSocket } from '../../src/kernel/ethtool/ethtool-socket.js';
import { ApplyError, applyChanges, kernelNicControl } from '../../src/nic/tuning.js';
import { NetlinkError } from '../../src/kernel/netlink/netlink-error.js';
import { kernelTest } from '../kernel/harness.js';
import { withIproute2Pins } from '../support/bpffs.js';
import { ethtool, ethtoolChannels, ethtoolFeatures, withNicVeth } from '../kernel/ethtool/veth-support.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Runs the CLI in-process; returns exit code and output. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

function withTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-nic-'));
  return fn(dir).finally(() => rmSync(dir, { recursive: true, force: true }));
}

kernelTest('apply that fails halfway (channels over the maximum) rolls back the features and channels it changed', async (sys) => {
  await withNicVeth(2, (v) => {
    using sock = EthtoolSocket.open(sys);
    const gro = ethtoolFeatures(v.dev).get('rx-gro')!.active;
    const before = ethtoolChannels(v.dev).cur;
    let err: unknown;
    try {
      applyChanges(kernelNicControl(sys, sock), [
        { kind: 'features', device: v.dev, set: { 'rx-gro': !gro } },
        { kind: 'channels', device: v.dev, set: { rx: 1 } },
        { kind: 'channels', device: v.dev, set: { tx: 99 } },
      ]);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ApplyError, String(err));
    assert.equal(err.failedAt, 2);
    assert.ok(err.cause instanceof NetlinkError && /exceeds maximum/.test(err.cause.message), String(err.cause));
    assert.equal(err.rollbackFailures.length, 0, err.message);
    console.log(`# ${err.message}`);
    // The oracle: ethtool sees the device exactly as before.
    assert.equal(ethtoolFeatures(v.dev).get('rx-gro')!.active, gro);
    assert.deepEqual(ethtoolChannels(v.dev).cur, before);
  });
});

kernelTest('nic audit --apply --save then nic restore: ethtool sees the tuned state, then the original again', async () => {
  await withNicVeth(2, (v) =>
    withTmp(async (dir) => {
      const file = join(dir, 'state.json');
      const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
      ethtool('-L', v.dev, 'rx', '1', 'tx', '1');
      ethtool('-K', v.dev, 'rx', 'off');
      const rules = '--rules=queues-fewer-than-cpus,rx-checksum-off';
      const dry = await cli('nic', 'audit', v.dev, rules, '--json');
      assert.equal(dry.code, 0, dry.err);
      const ids = (JSON.parse(dry.out) as { findings: { id: string }[] }).findings.map((f) => f.id).sort();
      assert.deepEqual(ids, cpus >= 2 ? ['queues-fewer-than-cpus', 'rx-checksum-off'] : ['rx-checksum-off']);

      const applied = await cli('nic', 'audit', v.dev, rules, '--apply', '--save', file);
      assert.equal(applied.code, 0, applied.err);
      console.log(`# applied: ${applied.out.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim()).join('; ')}`);
      assert.equal(ethtoolFeatures(v.dev).get('rx-checksum')!.active, true);
      if (cpus >= 2) assert.deepEqual(ethtoolChannels(v.dev).cur, { rx: 2, tx: 2, other: undefined, combined: undefined });
      const state = JSON.parse(readFileSync(file, 'utf8')) as { format: string; devices: Record<string, number> };
      assert.equal(state.format, 'bpfkit-nic-state');
      assert.equal(state.devices[v.dev], Number(readFileSync(`/sys/class/net/${v.dev}/ifindex`, 'utf8')));
      assert.equal((await cli('nic', 'audit', v.dev, rules, '--json')).out.includes('"findings":[]'), true, 'nothing left to find');

      const restored = await cli('nic', 'restore', file);
      assert.equal(restored.code, 0, restored.err);
      assert.equal(ethtoolFeatures(v.dev).get('rx-checksum')!.active, false);
      assert.deepEqual(ethtoolChannels(v.dev).cur, { rx: 1, tx: 1, other: undefined, combined: undefined });

      // A state file that cannot be written stops the apply before any change.
      const unwritable = await cli('nic', 'audit', v.dev, rules, '--apply', '--save', join(dir, 'no/such/dir/state.json'));
      assert.equal(unwritable.code, 1);
      assert.match(unwritable.err, /cannot write the state file \(ENOENT\); nothing was changed \[ERR_NIC_STATE_FILE\]/);
      assert.equal(ethtoolFeatures(v.dev).get('rx-checksum')!.active, false);

      // --apply without --save is a usage error; nothing changes.
      const noSave = await cli('nic', 'audit', v.dev, rules, '--apply');
      assert.equal(noSave.code, 2);
      assert.equal(ethtoolFeatures(v.dev).get('rx-checksum')!.active, false);
    }),
  );
});

kernelTest('CLI: channels and features set and shown in ethtool words; bad input gets typed errors and changes nothing', async () => {
  await withNicVeth(4, (v) =>
    withTmp(async (dir) => {
      const set = await cli('nic', 'channels', v.dev, 'rx', '3', '--json');
      assert.equal(set.code, 0, set.err);
      assert.equal((JSON.parse(set.out) as { rx: number }).rx, 3);
      assert.equal(ethtoolChannels(v.dev).cur['rx'], 3);

      const over = await cli('nic', 'channels', v.dev, 'rx', '64');
      assert.equal(over.code, 1);
      assert.match(over.err, /requested channel count exceeds maximum/);
      assert.equal(ethtoolChannels(v.dev).cur['rx'], 3);

      const gro = ethtoolFeatures(v.dev).get('rx-gro')!.active;
      const f = await cli('nic', 'features', v.dev, 'gro', gro ? 'off' : 'on', 'tso', 'off');
      assert.equal(f.code, 0, f.err);
      assert.equal(ethtoolFeatures(v.dev).get('rx-gro')!.active, !gro);
      assert.equal(ethtoolFeatures(v.dev).get('tx-tcp-segmentation')!.active, false);

      // A group with fixed members (tx: tx-checksum-ipv4 is fixed off on veth) changes the others, as ethtool -K does.
      assert.equal((await cli('nic', 'features', v.dev, 'tx', 'off')).code, 0);
      assert.equal(ethtoolFeatures(v.dev).get('tx-checksum-ip-generic')!.active, false);
      const txOn = await cli('nic', 'features', v.dev, 'tx', 'on');
      assert.equal(txOn.code, 0, txOn.err);
      assert.equal(ethtoolFeatures(v.dev).get('tx-checksum-ip-generic')!.active, true);
      // A single fixed feature cannot change: the error names it.
      const fixed = await cli('nic', 'features', v.dev, 'tx-checksum-ipv4', 'on');
      assert.equal(fixed.code, 1);
      assert.match(fixed.err, /kept 'tx-checksum-ipv4' as they were \(fixed/);

      const typo = await cli('nic', 'features', v.dev, 'rx-gor', 'on');
      assert.equal(typo.code, 1);
      assert.match(typo.err, /unknown feature 'rx-gor' \(did you mean 'rx-gro'/);

      const nodev = await cli('nic', 'show', 'bknicnone0');
      assert.equal(nodev.code, 1);
      assert.match(nodev.err, /no such network device 'bknicnone0' \[ERR_NO_SUCH_DEVICE\]/);

      const rings = await cli('nic', 'rings', v.dev, 'rx', '512');
      assert.equal(rings.code, 1);
      assert.match(rings.err, /set rings of .* not supported.*\[ERR_NOT_SUPPORTED\]/);

      const foreign = join(dir, 'foreign.json');
      writeFileSync(foreign, JSON.stringify({ format: 'bpfkit-nic-state', version: 1, devices: { [v.dev]: 1 }, restore: [{ kind: 'channels', device: v.dev, set: { rx: 1 } }] }));
      const r = await cli('nic', 'restore', foreign);
      assert.equal(r.code, 1);
      assert.match(r.err, /saved for .* with ifindex 1, but .* is now ifindex \d+ \(a different device\) \[ERR_NIC_STATE_FILE\]/);
      assert.equal(ethtoolChannels(v.dev).cur['rx'], 3, 'the foreign file changed nothing');

      const show = await cli('nic', 'show', v.dev, '--json');
      assert.equal(show.code, 0, show.err);
      const doc = JSON.parse(show.out) as { driver: string; channels: { rx: number }; xdp: { mode: string }; unavailable: Record<string, string> };
      assert.equal(doc.driver, 'veth');
      assert.equal(doc.channels.rx, 3);
      assert.equal(doc.xdp.mode, 'none');
      assert.ok(doc.unavailable['rings'] && doc.unavailable['rss'], JSON.stringify(doc.unavailable));
    }),
  );
});

kernelTest('without CAP_NET_ADMIN a set fails with EPERM and says which capability; the device is unchanged', async () => {
  await withNicVeth(2, (v) => {
    const r = spawnSync('capsh', ['--drop=cap_net_admin', '--', '-c', `exec node --import tsx src/cli/bin.ts nic channels ${v.dev} rx 1`], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`set channels of ${v.dev}: netlink\\(ETHTOOL_MSG_CHANNELS_SET\\): EPERM.*CAP_NET_ADMIN`));
    assert.equal(ethtoolChannels(v.dev).cur['rx'], 2);
  });
});

kernelTest('nic sysctl writes a per-namespace sysctl inside a namespace and leaves the host alone', async () => {
  await withNicVeth(1, (v) => {
    const host = readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim();
    const want = host === '1234' ? '1235' : '1234';
    const out = v.ns.exec(['node', '--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'nic', 'sysctl', `net.core.somaxconn=${want}`, '--json'], { timeoutMs: 60_000 });
    assert.deepEqual(JSON.parse(out), { 'net.core.somaxconn': want });
    assert.equal(v.ns.exec(['sysctl', '-n', 'net.core.somaxconn']).trim(), want);
    assert.equal(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim(), host);
  });
});

kernelTest('nic sysctl inside a namespace: per-namespace values read there, host-wide ones marked (host) instead of "?"', async () => {
  await withNicVeth(1, (v) => {
    const ns = v.ns.exec(['sysctl', '-n', 'net.core.somaxconn']).trim();
    const doc = JSON.parse(v.ns.exec(['node', '--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'nic', 'sysctl', '--json'], { timeoutMs: 60_000 })) as { sysctls: Record<string, string | null>; host_only: string[] };
    // What sysctl(8) in the namespace can read, bpfkit reads; what it cannot, bpfkit names as host-wide.
    for (const [name, value] of Object.entries(doc.sysctls)) {
      const path = `/proc/sys/${name.replace(/\./g, '/')}`;
      const visible = v.ns.exec(['sh', '-c', `cat ${path} 2>/dev/null || true`]).trim();
      if (visible) assert.equal(value, visible, name);
      else {
        assert.equal(value, null, name);
        assert.ok(doc.host_only.includes(name), `${name} should be marked host-wide`);
      }
    }
    assert.ok(doc.host_only.includes('net.core.netdev_max_backlog'));
    assert.ok(ns.length > 0);
    const text = v.ns.exec(['node', '--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'nic', 'sysctl'], { timeoutMs: 60_000 });
    assert.match(text, /net\.core\.netdev_max_backlog\s+\(host\)/);
    assert.doesNotMatch(text, /\s\?\s/);
    const one = spawnSync('nsenter', [`--net=/run/netns/${v.ns.name}`, 'node', '--import', 'tsx', join(ROOT, 'src/cli/bin.ts'), 'nic', 'sysctl', 'net.core.netdev_max_backlog'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(one.status, 1);
    assert.match(one.stderr, /host-wide, not visible inside this network namespace .*\[ERR_NIC_UNKNOWN_SYSCTL\]/);
  });
});

kernelTest('XDP in generic mode and a cls_bpf filter on veth: show reports both with the ids ip and tc report; the audit says native is possible and flags a 9000 MTU', async () => {
  // ip and tc load the objects with iproute2's loader, which makes /sys/fs/bpf/{tc/globals,ip,xdp}.
  await withIproute2Pins(() => withNicVeth(1, async (v) => {
    execFileSync('ip', ['link', 'set', 'dev', v.dev, 'xdpgeneric', 'obj', join(ROOT, 'test/fixtures/xdp_stats.o'), 'sec', 'xdp']);
    try {
      const ipj = JSON.parse(execFileSync('ip', ['-j', '-d', 'link', 'show', v.dev], { encoding: 'utf8' })) as { xdp?: { prog?: { id: number } } }[];
      const id = ipj[0]?.xdp?.prog?.id;
      assert.ok(id);
      const show = JSON.parse((await cli('nic', 'show', v.dev, '--json')).out) as { xdp: { mode: string; generic_prog_id: number; native_prog_id: number } };
      assert.deepEqual(show.xdp, { mode: 'generic', native_prog_id: 0, generic_prog_id: id, offload_prog_id: 0 });
      execFileSync('ip', ['link', 'set', 'dev', v.dev, 'mtu', '9000']);
      const a = await cli('nic', 'audit', v.dev, '--json', '--rules=xdp-generic-could-be-native,mtu-too-large-for-xdp,lro-with-xdp');
      const findings = (JSON.parse(a.out) as { findings: { id: string; evidence: string }[] }).findings;
      assert.deepEqual(findings.map((f) => f.id).sort(), ['mtu-too-large-for-xdp', 'xdp-generic-could-be-native']);
      assert.match(findings.find((f) => f.id === 'xdp-generic-could-be-native')!.evidence, new RegExp(`program id ${id}`));
      // A cls_bpf filter on ingress shows up too, with the id tc reports.
      execFileSync('tc', ['qdisc', 'add', 'dev', v.dev, 'clsact']);
      execFileSync('tc', ['filter', 'add', 'dev', v.dev, 'ingress', 'bpf', 'da', 'obj', join(ROOT, 'test/fixtures/tc_flow_filter.o'), 'sec', 'tc']);
      const tcId = Number(/ id (\d+) /.exec(execFileSync('tc', ['filter', 'show', 'dev', v.dev, 'ingress'], { encoding: 'utf8' }))?.[1]);
      const tc = (JSON.parse((await cli('nic', 'show', v.dev, '--json')).out) as { tc: { direction: string; via: string; prog_id: number }[] }).tc;
      assert.deepEqual(tc.map((t) => [t.direction, t.via, t.prog_id]), [['ingress', 'clsact', tcId]]);
    } finally {
      execFileSync('ip', ['link', 'set', 'dev', v.dev, 'xdpgeneric', 'off']);
    }
  }));
});

kernelTest('RPS on a single-queue veth: audit --apply writes rps_cpus for every CPU, restore puts 0 back (sysfs is the oracle)', async () => {
  await withNicVeth(1, (v) =>
    withTmp(async (dir) => {
      const file = join(dir, 'rps.json');
      const rps = () => readFileSync(`/sys/class/net/${v.dev}/queues/rx-0/rps_cpus`, 'utf8').trim();
      const cpus = Number(execFileSync('nproc', { encoding: 'utf8' }).trim());
      assert.match(rps(), /^[0,]+$/, 'RPS starts off');
      const r = await cli('nic', 'audit', v.dev, '--rules=rps-off-single-queue', '--apply', '--save', file, '--json');
      assert.equal(r.code, 0, r.err);
      if (cpus < 2) {
        assert.deepEqual((JSON.parse(r.out) as { findings: unknown[] }).findings, []);
        return;
      }
      assert.equal(BigInt(`0x${rps().replace(/,/g, '')}`), (1n << BigInt(cpus)) - 1n);
      assert.equal((await cli('nic', 'restore', file)).code, 0);
      assert.match(rps(), /^[0,]+$/);
    }),
  );
});
