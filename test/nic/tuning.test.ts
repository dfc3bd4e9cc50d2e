// Apply with rollback, the saved state, restore, and state files that must be refused — over an in-memory NicControl.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Channels } from '../../src/kernel/ethtool/channels.js';
import type { FeatureState } from '../../src/kernel/ethtool/features.js';
import type { Rings } from '../../src/kernel/ethtool/rings.js';
import type { Change } from '../../src/nic/change.js';
import { ApplyError, applyChanges, captureState, FeatureNotChangedError, parseState, restoreState, serializeState, StateFileError, type NicControl } from '../../src/nic/tuning.js';

/** A NIC in memory; `failOn` makes the named setter throw (once per listed call number, counted from 1). */
class MemoryNic implements NicControl {
  channelsState: Channels = { rxMax: 0, txMax: 0, otherMax: 0, combinedMax: 16, rx: 0, tx: 0, other: 0, combined: 2 };
  featureState = new Map<string, { active: boolean; changeable: boolean; wanted?: boolean; held?: boolean }>([
    ['rx-gro', { active: false, changeable: true }],
    ['rx-checksum', { active: false, changeable: true }],
    ['rx-lro', { active: false, changeable: false }],
    // Asked for, but a dependency holds it off ("[requested on]").
    ['tx-udp_tnl-segmentation', { active: false, changeable: true, wanted: true, held: true }],
  ]);
  ringsState: Rings = { rxMax: 4096, rxMiniMax: 0, rxJumboMax: 0, txMax: 4096, rx: 256, rxMini: 0, rxJumbo: 0, tx: 256 };
  indir: number[] = [0, 0, 0, 0];
  sysctls = new Map([['net.core.netdev_budget', '50']]);
  affinity = new Map([[90, [0]], [91, [0]]]);
  ifindexes = new Map([['eth0', 2]]);
  calls: string[] = [];
  failOn = new Map<string, number>();
  #count = new Map<string, number>();

  #maybeFail(what: string): void {
    const n = (this.#count.get(what) ?? 0) + 1;
    this.#count.set(what, n);
    this.calls.push(what);
    if (this.failOn.get(what) === n) throw new Error(`injected failure in ${what}`);
  }
  ifindex(dev: string): number {
    const i = this.ifindexes.get(dev);
    if (i === undefined) throw new Error(`no device ${dev}`);
    return i;
  }
  channels(): Channels {
    return { ...this.channelsState };
  }
  setChannels(_dev: string, set: Partial<Channels>): void {
    this.#maybeFail('setChannels');
    if ((set.combined ?? 0) > this.channelsState.combinedMax) throw new Error('requested channel count exceeds maximum');
    this.channelsState = { ...this.channelsState, ...set };
  }
  features(): FeatureState[] {
    return [...this.featureState].map(([name, f]) => ({ name, active: f.active, wanted: f.wanted ?? f.active, changeable: f.changeable, noChange: false }));
  }
  setFeatures(_dev: string, set: ReadonlyMap<string, boolean>): void {
    this.#maybeFail('setFeatures');
    for (const [n, on] of set) {
      const f = this.featureState.get(n)!;
      if (!f.changeable) continue;
      if (f.wanted !== undefined) f.wanted = on;
      f.active = f.held ? false : on;
    }
  }
  rings(): Rings {
    return { ...this.ringsState };
  }
  setRings(_dev: string, set: Partial<Rings>): void {
    this.#maybeFail('setRings');
    this.ringsState = { ...this.ringsState, ...set };
  }
  rss() {
    return { context: 0, hfunc: 1, hfuncNames: ['toeplitz'], indir: [...this.indir], hkey: new Uint8Array(0) };
  }
  setRssTable(_dev: string, indir: readonly number[]): void {
    this.#maybeFail('setRssTable');
    this.indir = [...indir];
  }
  sysctl(name: string): string {
    return this.sysctls.get(name)!;
  }
  setSysctl(name: string, value: string): void {
    this.#maybeFail('setSysctl');
    this.sysctls.set(name, value);
  }
  rps = new Map<number, number[]>([[0, []]]);
  rpsCpus(_dev: string, queue: number): number[] {
    return [...this.rps.get(queue)!];
  }
  setRpsCpus(_dev: string, queue: number, cpus: readonly number[]): void {
    this.#maybeFail('setRpsCpus');
    this.rps.set(queue, [...cpus]);
  }
  irqAffinity(irq: number): number[] {
    return [...this.affinity.get(irq)!];
  }
  setIrqAffinity(irq: number, cpus: readonly number[]): void {
    this.#maybeFail('setIrqAffinity');
    this.affinity.set(irq, [...cpus]);
  }
  /** Everything observable, for before/after comparisons. */
  state() {
    return JSON.stringify({ c: this.channelsState, f: [...this.featureState], r: this.ringsState, i: this.indir, s: [...this.sysctls], a: [...this.affinity], p: [...this.rps] });
  }
}

const PLAN: Change[] = [
  { kind: 'channels', device: 'eth0', set: { combined: 8 } },
  { kind: 'features', device: 'eth0', set: { 'rx-gro': true, 'rx-checksum': true } },
  { kind: 'rings', device: 'eth0', set: { rx: 4096 } },
  { kind: 'rss', device: 'eth0', indir: [0, 1, 2, 3] },
  { kind: 'sysctl', name: 'net.core.netdev_budget', value: '600' },
  { kind: 'irq-affinity', irq: 91, cpus: [1] },
  { kind: 'rps', device: 'eth0', queue: 0, cpus: [0, 1] },
];

test('apply makes every change in order; the captured state restores the original exactly', () => {
  const nic = new MemoryNic();
  const original = nic.state();
  const saved = captureState(nic, PLAN, new Date(0));
  assert.deepEqual(saved.devices, { eth0: 2 });
  const steps = applyChanges(nic, PLAN);
  assert.equal(steps.length, 7);
  assert.equal(steps[0], 'channels eth0 combined 8');
  assert.equal(nic.channelsState.combined, 8);
  assert.equal(nic.featureState.get('rx-gro')!.active, true);
  assert.deepEqual(nic.indir, [0, 1, 2, 3]);
  assert.equal(nic.sysctls.get('net.core.netdev_budget'), '600');
  const text = serializeState(saved);
  const back = parseState(text, 'state.json');
  assert.deepEqual(back, saved);
  restoreState(nic, back, 'state.json');
  assert.equal(nic.state(), original);
});

test('a failure halfway rolls back every earlier step, in reverse, and says so', () => {
  for (let failAt = 0; failAt < PLAN.length; failAt++) {
    const nic = new MemoryNic();
    const original = nic.state();
    const setter = ['setChannels', 'setFeatures', 'setRings', 'setRssTable', 'setSysctl', 'setIrqAffinity', 'setRpsCpus'][failAt]!;
    nic.failOn.set(setter, 1);
    let err: unknown;
    try {
      applyChanges(nic, PLAN);
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof ApplyError, `fail at ${failAt}: ${String(err)}`);
    assert.equal(err.failedAt, failAt);
    assert.equal(err.rolledBack.length, failAt + 1, 'the earlier steps and the failed one (it may have half-happened)');
    assert.equal(err.rollbackFailures.length, 0);
    assert.match(err.message, new RegExp(`step ${failAt + 1} .*injected failure.*rolled back ${failAt + 1} step\\(s\\), the failed one included, nothing is left changed`));
    assert.equal(nic.state(), original, `fail at ${failAt}: state after rollback`);
  }
});

test('a rollback step that fails too is reported, not hidden', () => {
  const nic = new MemoryNic();
  nic.failOn.set('setSysctl', 1);
  nic.failOn.set('setChannels', 2); // the rollback of step 1
  assert.throws(
    () => applyChanges(nic, PLAN),
    (e: unknown) => e instanceof ApplyError && e.rollbackFailures.length === 1 && /ROLLBACK INCOMPLETE: channels eth0 combined 2: injected failure/.test(e.message),
  );
});

test('a feature the kernel keeps (fixed) fails the step, and the steps before are rolled back', () => {
  const nic = new MemoryNic();
  const original = nic.state();
  let err: unknown;
  try {
    applyChanges(nic, [PLAN[0]!, { kind: 'features', device: 'eth0', set: { 'rx-lro': true } }]);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof ApplyError);
  assert.ok(err.cause instanceof FeatureNotChangedError);
  assert.equal(nic.state(), original);
});

test('state files: corrupted, foreign, wrong version or malformed entries are StateFileError before any change', () => {
  const nic = new MemoryNic();
  const good = JSON.parse(serializeState(captureState(nic, PLAN))) as Record<string, unknown>;
  const bad: [string, string, RegExp][] = [
    ['not json', '{"format": "bpfkit-nic-st', /not JSON/],
    ['foreign', JSON.stringify({ hello: 'world' }), /not a bpfkit NIC state file/],
    ['version', JSON.stringify({ ...good, version: 2 }), /version 2 not supported/],
    ['restore not a list', JSON.stringify({ ...good, restore: {} }), /must be a list/],
    ['unknown kind', JSON.stringify({ ...good, restore: [{ kind: 'reboot' }] }), /restore\[0\]: unknown kind "reboot"/],
    ['negative count', JSON.stringify({ ...good, restore: [{ kind: 'channels', device: 'eth0', set: { combined: -1 } }] }), /bad entry combined=-1/],
    ['bad channel kind', JSON.stringify({ ...good, restore: [{ kind: 'channels', device: 'eth0', set: { queues: 1 } }] }), /bad entry queues/],
    ['path as device', JSON.stringify({ ...good, restore: [{ kind: 'rss', device: '../x', indir: [] }] }), /bad device/],
    ['sysctl path', JSON.stringify({ ...good, restore: [{ kind: 'sysctl', name: '../../etc/passwd', value: 'x' }] }), /bad sysctl name/],
    ['undeclared device', JSON.stringify({ ...good, restore: [{ kind: 'rss', device: 'eth1', indir: [0] }] }), /eth1, which "devices" does not list/],
  ];
  for (const [what, text, re] of bad) {
    const before = nic.state();
    assert.throws(() => restoreState(nic, parseState(text, 'f.json'), 'f.json'), (e: unknown) => e instanceof StateFileError && e.code === 'ERR_NIC_STATE_FILE' && re.test(e.message), what);
    assert.equal(nic.state(), before, what);
  }
});

test('restore refuses a state saved for a device that has since been replaced (other ifindex), changing nothing', () => {
  const nic = new MemoryNic();
  const saved = captureState(nic, PLAN);
  applyChanges(nic, PLAN);
  const after = nic.state();
  nic.ifindexes.set('eth0', 9);
  assert.throws(() => restoreState(nic, saved, 's.json'), (e: unknown) => e instanceof StateFileError && /ifindex 2, but eth0 is now ifindex 9/.test(e.message));
  nic.ifindexes.delete('eth0');
  assert.throws(() => restoreState(nic, saved, 's.json'), (e: unknown) => e instanceof StateFileError && /device eth0 is gone/.test(e.message));
  assert.equal(nic.state(), after);
});

test('a feature asked for but held off by a dependency is restored as asked for, without failing the restore', () => {
  const nic = new MemoryNic();
  const original = nic.state();
  const plan: Change[] = [{ kind: 'features', device: 'eth0', set: { 'tx-udp_tnl-segmentation': false } }];
  const saved = parseState(serializeState(captureState(nic, plan)), 's.json');
  assert.deepEqual(saved.restore, [{ kind: 'features', device: 'eth0', set: { 'tx-udp_tnl-segmentation': true }, verify: 'wanted' }]);
  applyChanges(nic, plan);
  assert.equal(nic.featureState.get('tx-udp_tnl-segmentation')!.wanted, false);
  restoreState(nic, saved, 's.json');
  assert.equal(nic.state(), original);
});
