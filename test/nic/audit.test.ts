// The audit rules one by one, each on a constructed device state that triggers it and one that does not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AUDIT_RULES, audit, XDP_SINGLE_BUFFER_MAX_MTU, type Finding } from '../../src/nic/audit.js';
import { equalTable } from '../../src/kernel/ethtool/rss.js';
import { feat, healthy, withState } from './snapshots.js';
import type { NicSnapshot } from '../../src/nic/snapshot.js';

const only = (s: NicSnapshot, id: string): Finding | undefined => {
  const rule = AUDIT_RULES.find((r) => r.id === id);
  assert.ok(rule, id);
  return audit(s, [rule]).at(0);
};

test('a healthy device has no findings', () => {
  assert.deepEqual(audit(healthy()), []);
});

test('fewer combined queues than CPUs: channels combined N, both commands', () => {
  const f = only(withState((s) => (s.channels = { ...s.channels!, combined: 2 })), 'queues-fewer-than-cpus');
  assert.ok(f);
  assert.equal(f.severity, 'medium');
  assert.equal(f.fix.bpfkit, 'bpfkit nic channels eth0 combined 8');
  assert.equal(f.fix.ethtool, 'ethtool -L eth0 combined 8');
  assert.deepEqual(f.changes, [{ kind: 'channels', device: 'eth0', set: { combined: 8 } }]);
  // Capped by the hardware maximum: 4 queues max on 8 CPUs, 4 in use, nothing to say.
  assert.equal(only(withState((s) => (s.channels = { ...s.channels!, combinedMax: 4, combined: 4 })), 'queues-fewer-than-cpus'), undefined);
  // Split rx/tx drivers (veth): rx and tx.
  const split = only(withState((s) => (s.channels = { rxMax: 16, txMax: 16, otherMax: 0, combinedMax: 0, rx: 1, tx: 1, other: 0, combined: 0 })), 'queues-fewer-than-cpus');
  assert.deepEqual(split?.changes[0], { kind: 'channels', device: 'eth0', set: { rx: 8, tx: 8 } });
});

test('uneven RSS: queues with no entries are high severity; equal N fixes it', () => {
  const lopsided = withState((s) => (s.rss = { ...s.rss!, indir: Array.from({ length: 128 }, (_, i) => i % 4) }));
  const f = only(lopsided, 'rss-uneven');
  assert.ok(f);
  assert.equal(f.severity, 'high');
  assert.match(f.evidence, /queues 4,5,6,7 get none/);
  assert.equal(f.fix.ethtool, 'ethtool -X eth0 equal 8');
  const change = f.changes[0];
  assert.ok(change?.kind === 'rss');
  assert.deepEqual(change.indir.slice(0, 9), [0, 1, 2, 3, 4, 5, 6, 7, 0]);
  // Skewed but all served: medium.
  const skew = withState((s) => (s.rss = { ...s.rss!, indir: [...Array(64).fill(0), ...Array.from({ length: 64 }, (_, i) => i % 8)] }));
  assert.equal(only(skew, 'rss-uneven')?.severity, 'medium');
  // 100 entries over 8 queues: 12 or 13 each is even.
  assert.equal(only(withState((s) => (s.rss = { ...s.rss!, indir: Array.from({ length: 100 }, (_, i) => i % 8) })), 'rss-uneven'), undefined);
  // No table (virtio without RSS): nothing.
  assert.equal(only(withState((s) => (s.rss = { ...s.rss!, indir: [] })), 'rss-uneven'), undefined);
});

test('all queue IRQs on one CPU: spread one per CPU', () => {
  const f = only(withState((s) => (s.irqs = s.irqs.map((i) => ({ ...i, effective: [0] })))), 'irqs-one-cpu');
  assert.ok(f);
  assert.equal(f.severity, 'high');
  assert.equal(f.changes.length, 8);
  assert.deepEqual(f.changes[3], { kind: 'irq-affinity', irq: 93, cpus: [3] });
  assert.match(f.fix.shell!, /echo 3 > \/proc\/irq\/93\/smp_affinity_list/);
  // One CPU machine, or one IRQ: nothing to spread.
  assert.equal(only(withState((s) => ((s.cpus = [0]), (s.irqs = s.irqs.map((i) => ({ ...i, effective: [0] }))))), 'irqs-one-cpu'), undefined);
  assert.equal(only(withState((s) => (s.irqs = s.irqs.slice(0, 1).map((i) => ({ ...i, effective: [0] })))), 'irqs-one-cpu'), undefined);
});

test('LRO or hardware GRO with XDP attached: turn them off (only while XDP is there)', () => {
  const xdp = { mode: 'native' as const, nativeProgId: 42, genericProgId: 0, offloadProgId: 0 };
  const f = only(withState((s) => ((s.xdp = xdp), (s.features = [feat('rx-lro', true), feat('rx-gro-hw', true), feat('rx-checksum', true)]))), 'lro-with-xdp');
  assert.ok(f);
  assert.equal(f.fix.ethtool, 'ethtool -K eth0 rx-lro off rx-gro-hw off');
  assert.deepEqual(f.changes, [{ kind: 'features', device: 'eth0', set: { 'rx-lro': false, 'rx-gro-hw': false } }]);
  assert.equal(only(withState((s) => (s.features = [feat('rx-lro', true)])), 'lro-with-xdp'), undefined, 'no XDP, no finding');
  // A fixed-on LRO is reported but not "applied".
  const fixed = only(withState((s) => ((s.xdp = xdp), (s.features = [feat('rx-lro', true, false)]))), 'lro-with-xdp');
  assert.deepEqual(fixed?.changes, []);
});

test('generic XDP on a device with native XDP: reload in native mode (a person must do it)', () => {
  const generic = { mode: 'generic' as const, nativeProgId: 0, genericProgId: 7, offloadProgId: 0 };
  const f = only(withState((s) => (s.xdp = generic)), 'xdp-generic-could-be-native');
  assert.ok(f);
  assert.match(f.fix.shell!, /xdp-loader load --mode native eth0/);
  assert.deepEqual(f.changes, []);
  assert.equal(only(withState((s) => ((s.xdp = generic), (s.xdpFeatures = { ...s.xdpFeatures!, flags: 0, names: [] }))), 'xdp-generic-could-be-native'), undefined);
});

test('MTU over what single-buffer XDP takes, only with XDP attached', () => {
  const xdp = { mode: 'native' as const, nativeProgId: 1, genericProgId: 0, offloadProgId: 0 };
  const f = only(withState((s) => ((s.xdp = xdp), (s.mtu = 9000))), 'mtu-too-large-for-xdp');
  assert.ok(f);
  assert.match(f.title, /MTU 9000/);
  assert.equal(only(withState((s) => ((s.xdp = xdp), (s.mtu = XDP_SINGLE_BUFFER_MAX_MTU))), 'mtu-too-large-for-xdp'), undefined);
  assert.equal(only(withState((s) => (s.mtu = 9000)), 'mtu-too-large-for-xdp'), undefined);
});

test('receive checksumming off: rx on', () => {
  const f = only(withState((s) => (s.features = [feat('rx-checksum', false)])), 'rx-checksum-off');
  assert.deepEqual(f?.changes, [{ kind: 'features', device: 'eth0', set: { 'rx-checksum': true } }]);
  assert.equal(f?.fix.ethtool, 'ethtool -K eth0 rx on');
  assert.equal(only(withState((s) => (s.features = [feat('rx-checksum', false, false)])), 'rx-checksum-off'), undefined, 'fixed off: nothing to do');
});

test('the BPF JIT disabled', () => {
  const f = only(withState((s) => (s.sysctls = { ...s.sysctls, 'net.core.bpf_jit_enable': '0' })), 'bpf-jit-disabled');
  assert.equal(f?.severity, 'high');
  assert.deepEqual(f?.changes, [{ kind: 'sysctl', name: 'net.core.bpf_jit_enable', value: '1' }]);
  assert.equal(only(withState((s) => (s.sysctls = { ...s.sysctls, 'net.core.bpf_jit_enable': '2' })), 'bpf-jit-disabled'), undefined);
});

test('small rings on a device that drops: rx to the maximum; no drops, no finding', () => {
  const f = only(withState((s) => (s.rx = { ...s.rx, missed: 12345 })), 'small-rings-dropping');
  assert.deepEqual(f?.changes, [{ kind: 'rings', device: 'eth0', set: { rx: 8192 } }]);
  assert.equal(f?.fix.ethtool, 'ethtool -G eth0 rx 8192');
  assert.equal(only(healthy(), 'small-rings-dropping'), undefined);
  assert.equal(only(withState((s) => ((s.rx = { ...s.rx, missed: 5 }), (s.rings = { ...s.rings!, rx: 8192 }))), 'small-rings-dropping'), undefined);
});

test('tiny netdev_budget and backlog', () => {
  const s = withState((x) => (x.sysctls = { ...x.sysctls, 'net.core.netdev_budget': '50', 'net.core.netdev_max_backlog': '100' }));
  const ids = audit(s).map((f) => f.id);
  assert.deepEqual(ids.sort(), ['backlog-tiny', 'netdev-budget-tiny']);
  assert.equal(only(s, 'netdev-budget-tiny')?.fix.bpfkit, 'bpfkit nic sysctl net.core.netdev_budget=600');
});

test('findings come sorted by severity; every finding has evidence, a reason and a fix', () => {
  const s = withState((x) => {
    x.channels = { ...x.channels!, combined: 2 };
    x.rss = { ...x.rss!, indir: equalTable(128, 2) };
    x.sysctls = { ...x.sysctls, 'net.core.bpf_jit_enable': '0' };
    x.features = [feat('rx-checksum', false)];
  });
  const fs = audit(s);
  assert.deepEqual(fs.map((f) => [f.severity, f.id]), [['high', 'bpf-jit-disabled'], ['medium', 'queues-fewer-than-cpus'], ['medium', 'rx-checksum-off']]);
  for (const f of fs) assert.ok(f.evidence && f.reason && (f.fix.bpfkit || f.fix.shell), f.id);
});

test('one rx queue that cannot grow and RPS off: spread in software (low); not when queues can be added or RPS is on', () => {
  const single = (edit?: (s: { -readonly [K in keyof NicSnapshot]: NicSnapshot[K] }) => void) =>
    withState((s) => {
      s.channels = { rxMax: 0, txMax: 0, otherMax: 0, combinedMax: 1, rx: 0, tx: 0, other: 0, combined: 1 };
      s.rss = undefined;
      s.queues = [{ kind: 'rx', index: 0, cpus: [] }, { kind: 'tx', index: 0, cpus: [0] }];
      edit?.(s);
    });
  const f = only(single(), 'rps-off-single-queue');
  assert.equal(f?.severity, 'low');
  assert.deepEqual(f?.changes, [{ kind: 'rps', device: 'eth0', queue: 0, cpus: [0, 1, 2, 3, 4, 5, 6, 7] }]);
  assert.equal(f?.fix.shell, 'echo ff > /sys/class/net/eth0/queues/rx-0/rps_cpus');
  assert.equal(only(single((s) => (s.queues = [{ kind: 'rx', index: 0, cpus: [1, 2] }])), 'rps-off-single-queue'), undefined, 'RPS already on');
  assert.equal(only(single((s) => (s.channels = { ...s.channels!, combinedMax: 8 })), 'rps-off-single-queue'), undefined, 'add queues instead');
  assert.equal(only(single((s) => (s.cpus = [0])), 'rps-off-single-queue'), undefined, 'one CPU');
});
