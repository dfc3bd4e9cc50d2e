// Applying changes with rollback, the saved state that undoes them, and restoring it (`nic audit --apply`, `nic restore`).
import { BpfkitError } from '../errors.js';
import { CHANNEL_KINDS, getChannels, setChannels, type Channels, type ChannelsChange } from '../kernel/ethtool/channels.js';
import { EthtoolSocket } from '../kernel/ethtool/ethtool-socket.js';
import { getFeatures, setFeatures, type FeatureState } from '../kernel/ethtool/features.js';
import { getRings, setRings, type Rings, type RingsChange } from '../kernel/ethtool/rings.js';
import { getRss, setRss, type Rss } from '../kernel/ethtool/rss.js';
import type { Sys } from '../kernel/sys.js';
import { describeChange, type Change } from './change.js';
import { checkDevice, writeIrqAffinity, writeQueueCpus } from './queues.js';
import { readSysctl, writeSysctl } from './sysctl.js';
import { parseCpuList, parseCpuMask } from './cpu-list.js';

/** What apply and restore need from the system: reads and writes of each kind of setting. Tests pass fakes. */
export interface NicControl {
  ifindex(dev: string): number;
  channels(dev: string): Channels;
  setChannels(dev: string, set: ChannelsChange): void;
  features(dev: string): readonly FeatureState[];
  setFeatures(dev: string, set: ReadonlyMap<string, boolean>): void;
  rings(dev: string): Rings;
  setRings(dev: string, set: RingsChange): void;
  rss(dev: string): Rss;
  setRssTable(dev: string, indir: readonly number[]): void;
  sysctl(name: string): string;
  setSysctl(name: string, value: string): void;
  irqAffinity(irq: number): readonly number[];
  setIrqAffinity(irq: number, cpus: readonly number[]): void;
  rpsCpus(dev: string, queue: number): readonly number[];
  setRpsCpus(dev: string, queue: number, cpus: readonly number[]): void;
}

/** The real NicControl: ethtool netlink on `sock`, sysctls and /proc/irq through `sys`. */
export function kernelNicControl(sys: Sys, sock: EthtoolSocket): NicControl {
  return {
    ifindex: (dev) => sys.ifNameToIndex(dev),
    channels: (dev) => getChannels(sock, dev),
    setChannels: (dev, set) => setChannels(sock, dev, set),
    features: (dev) => getFeatures(sock, dev),
    setFeatures: (dev, set) => setFeatures(sock, dev, set),
    rings: (dev) => getRings(sock, dev),
    setRings: (dev, set) => setRings(sock, dev, set),
    rss: (dev) => getRss(sock, dev),
    setRssTable: (dev, indir) => setRss(sock, dev, { indir }),
    sysctl: (name) => readSysctl(sys, name),
    setSysctl: (name, value) => writeSysctl(sys, name, value),
    irqAffinity: (irq) => parseCpuList(new TextDecoder().decode(sys.readFile(`/proc/irq/${irq}/smp_affinity_list`))),
    setIrqAffinity: (irq, cpus) => writeIrqAffinity(sys, irq, cpus),
    rpsCpus: (dev, queue) => {
      checkDevice(sys, dev);
      return parseCpuMask(new TextDecoder().decode(sys.readFile(`/sys/class/net/${dev}/queues/rx-${queue}/rps_cpus`)));
    },
    setRpsCpus: (dev, queue, cpus) => writeQueueCpus(sys, dev, 'rx', queue, cpus),
  };
}

/** Opens an ethtool socket and gives the real NicControl over it; dispose closes the socket. */
export function openNicControl(sys: Sys): NicControl & Disposable {
  const sock = EthtoolSocket.open(sys);
  return Object.assign(kernelNicControl(sys, sock), { [Symbol.dispose]: () => sock.close() });
}

/** A feature asked for did not take (a dependency or the driver kept it). */
export class FeatureNotChangedError extends BpfkitError {
  constructor(readonly device: string, readonly features: readonly string[]) {
    super('ERR_NIC_FEATURE_NOT_CHANGED', `${device}: the kernel kept ${features.map((f) => `'${f}'`).join(', ')} as they were (fixed, or held by another feature)`);
  }
}

/** An apply (or restore) failed at step `failedAt`; it and the steps before it were undone (`rolledBack`), or some could not be. */
export class ApplyError extends BpfkitError {
  constructor(
    readonly failedAt: number,
    readonly step: string,
    readonly rolledBack: readonly string[],
    readonly rollbackFailures: readonly string[],
    options: { cause: unknown },
  ) {
    const cause = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      'ERR_NIC_APPLY',
      `step ${failedAt + 1} (${step}) failed: ${cause}; ` +
        (rollbackFailures.length === 0 ? `rolled back ${rolledBack.length} step(s), the failed one included, nothing is left changed` : `ROLLBACK INCOMPLETE: ${rollbackFailures.join('; ')}`),
      options,
    );
  }
}

/** The change that puts back what `c` will change, read from the system now. */
export function inverseOf(ctl: NicControl, c: Change): Change {
  switch (c.kind) {
    case 'channels': {
      const cur = ctl.channels(c.device);
      const set: ChannelsChange = {};
      for (const k of CHANNEL_KINDS) if (c.set[k] !== undefined) set[k] = cur[k];
      return { kind: 'channels', device: c.device, set };
    }
    case 'features': {
      // Put back what was asked for (wanted), and accept it once asked: a dependency may hold it off, as it did before.
      const cur = new Map(ctl.features(c.device).map((f) => [f.name, f.wanted]));
      return { kind: 'features', device: c.device, set: Object.fromEntries(Object.keys(c.set).map((n) => [n, cur.get(n) ?? false])), verify: 'wanted' };
    }
    case 'rings': {
      const cur = ctl.rings(c.device);
      return { kind: 'rings', device: c.device, set: Object.fromEntries(Object.keys(c.set).map((k) => [k, cur[k as keyof RingsChange] ?? 0])) };
    }
    case 'rss':
      return { kind: 'rss', device: c.device, indir: [...ctl.rss(c.device).indir] };
    case 'sysctl':
      return { kind: 'sysctl', name: c.name, value: ctl.sysctl(c.name) };
    case 'irq-affinity':
      return { kind: 'irq-affinity', irq: c.irq, cpus: [...ctl.irqAffinity(c.irq)] };
    case 'rps':
      return { kind: 'rps', device: c.device, queue: c.queue, cpus: [...ctl.rpsCpus(c.device, c.queue)] };
  }
}

/** Makes one change; features are read back and a request that did not take is an error. */
export function applyOne(ctl: NicControl, c: Change): void {
  switch (c.kind) {
    case 'channels':
      return ctl.setChannels(c.device, c.set);
    case 'features': {
      ctl.setFeatures(c.device, new Map(Object.entries(c.set)));
      const now = new Map(ctl.features(c.device).map((f) => [f.name, c.verify === 'wanted' ? f.wanted : f.active]));
      const kept = Object.entries(c.set).filter(([n, on]) => now.get(n) !== on).map(([n]) => n);
      if (kept.length > 0) throw new FeatureNotChangedError(c.device, kept);
      return;
    }
    case 'rings':
      return ctl.setRings(c.device, c.set);
    case 'rss':
      return ctl.setRssTable(c.device, c.indir);
    case 'sysctl':
      return ctl.setSysctl(c.name, c.value);
    case 'irq-affinity':
      return ctl.setIrqAffinity(c.irq, c.cpus);
    case 'rps':
      return ctl.setRpsCpus(c.device, c.queue, c.cpus);
  }
}

/** What `--save FILE` holds: the changes that undo an apply, in the order to run them. */
export interface SavedState {
  readonly format: 'bpfkit-nic-state';
  readonly version: 1;
  /** Devices the state concerns, with the ifindex each had, so a recreated device is not "restored" blindly. */
  readonly devices: Readonly<Record<string, number>>;
  readonly savedAt: string;
  /** Changes that restore the saved values, in the order to apply them. */
  readonly restore: readonly Change[];
}

/** Reads the current values every change in `changes` will touch, as the state that undoes them. */
export function captureState(ctl: NicControl, changes: readonly Change[], now = new Date()): SavedState {
  const devices: Record<string, number> = {};
  for (const c of changes) if ('device' in c) devices[c.device] ??= ctl.ifindex(c.device);
  return { format: 'bpfkit-nic-state', version: 1, devices, savedAt: now.toISOString(), restore: changes.map((c) => inverseOf(ctl, c)).reverse() };
}

/**
 * Makes `changes` in order. If one fails, the ones already made are undone in reverse order
 * (from values read just before each was made) and an {@link ApplyError} says what failed and
 * whether everything was put back. Returns the descriptions of the steps made.
 */
export function applyChanges(ctl: NicControl, changes: readonly Change[]): string[] {
  const undo: Change[] = [];
  const done: string[] = [];
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    try {
      const inverse = inverseOf(ctl, c);
      undo.push(inverse);
      applyOne(ctl, c);
      done.push(describeChange(c));
    } catch (err) {
      const rolledBack: string[] = [];
      const failures: string[] = [];
      for (const u of undo.reverse()) {
        try {
          applyOne(ctl, u);
          rolledBack.push(describeChange(u));
        } catch (e) {
          failures.push(`${describeChange(u)}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      throw new ApplyError(i, describeChange(c), rolledBack, failures, { cause: err });
    }
  }
  return done;
}

/** The state file cannot be used: not JSON, not bpfkit's, a wrong version, a bad entry, or a device that changed. */
export class StateFileError extends BpfkitError {
  constructor(readonly source: string, detail: string) {
    super('ERR_NIC_STATE_FILE', `${source}: ${detail}`);
  }
}

/** Serializes a saved state (pretty JSON, newline-terminated). */
export function serializeState(s: SavedState): string {
  return `${JSON.stringify(s, null, 2)}\n`;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isDev = (v: unknown): v is string => typeof v === 'string' && /^[^/\s:]{1,15}$/.test(v);

function checkChange(v: unknown, where: string, source: string): Change {
  const bad = (why: string): never => {
    throw new StateFileError(source, `${where}: ${why}`);
  };
  if (!isObj(v)) return bad('not an object');
  const numbers = (o: unknown, keys: readonly string[]) => {
    if (!isObj(o) || Object.keys(o).length === 0) return bad('"set" must be a non-empty object');
    for (const [k, x] of Object.entries(o)) if (!keys.includes(k) || !isCount(x)) bad(`bad entry ${k}=${JSON.stringify(x)}`);
    return o as Record<string, number>;
  };
  switch (v['kind']) {
    case 'channels':
      if (!isDev(v['device'])) return bad('bad device');
      return { kind: 'channels', device: v['device'], set: numbers(v['set'], CHANNEL_KINDS) };
    case 'rings':
      if (!isDev(v['device'])) return bad('bad device');
      return { kind: 'rings', device: v['device'], set: numbers(v['set'], ['rx', 'rxMini', 'rxJumbo', 'tx', 'rxBufLen', 'cqeSize']) };
    case 'features': {
      const set = v['set'];
      if (!isDev(v['device'])) return bad('bad device');
      if (!isObj(set) || Object.keys(set).length === 0 || !Object.entries(set).every(([k, x]) => /^[a-z0-9_-]+$/.test(k) && typeof x === 'boolean')) return bad('"set" must map feature names to booleans');
      const verify = v['verify'];
      if (verify !== undefined && verify !== 'active' && verify !== 'wanted') return bad('"verify" must be "active" or "wanted"');
      return { kind: 'features', device: v['device'], set: set as Record<string, boolean>, ...(verify ? { verify } : {}) };
    }
    case 'rss': {
      const indir = v['indir'];
      if (!isDev(v['device'])) return bad('bad device');
      if (!Array.isArray(indir) || indir.length > 65536 || !indir.every(isCount)) return bad('"indir" must be a list of queue numbers');
      return { kind: 'rss', device: v['device'], indir: indir as number[] };
    }
    case 'sysctl': {
      const name = v['name'];
      const value = v['value'];
      if (typeof name !== 'string' || !/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/i.test(name) || typeof value !== 'string') return bad('bad sysctl name or value');
      return { kind: 'sysctl', name, value };
    }
    case 'irq-affinity': {
      const irq = v['irq'];
      const cpus = v['cpus'];
      if (!isCount(irq) || !Array.isArray(cpus) || cpus.length === 0 || !cpus.every(isCount)) return bad('bad irq or cpu list');
      return { kind: 'irq-affinity', irq, cpus: cpus as number[] };
    }
    case 'rps': {
      const queue = v['queue'];
      const cpus = v['cpus'];
      if (!isDev(v['device'])) return bad('bad device');
      if (!isCount(queue) || !Array.isArray(cpus) || !cpus.every(isCount)) return bad('bad queue or cpu list');
      return { kind: 'rps', device: v['device'], queue, cpus: cpus as number[] };
    }
    default:
      return bad(`unknown kind ${JSON.stringify(v['kind'])}`);
  }
}

/** Parses and validates a state file's text; `source` names it in errors. Nothing is trusted that was not checked. */
export function parseState(text: string, source: string): SavedState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(source, `not JSON (${(e as Error).message})`);
  }
  if (!isObj(v) || v['format'] !== 'bpfkit-nic-state') throw new StateFileError(source, 'not a bpfkit NIC state file (format is not "bpfkit-nic-state")');
  if (v['version'] !== 1) throw new StateFileError(source, `version ${JSON.stringify(v['version'])} not supported (this bpfkit reads version 1)`);
  const devices = v['devices'];
  if (!isObj(devices) || !Object.entries(devices).every(([k, x]) => isDev(k) && isCount(x))) throw new StateFileError(source, '"devices" must map interface names to ifindexes');
  const restore = v['restore'];
  if (!Array.isArray(restore)) throw new StateFileError(source, '"restore" must be a list');
  const changes = restore.map((c, i) => checkChange(c, `restore[${i}]`, source));
  for (const c of changes) if ('device' in c && !(c.device in devices)) throw new StateFileError(source, `change on ${c.device}, which "devices" does not list`);
  return { format: 'bpfkit-nic-state', version: 1, devices: devices as Record<string, number>, savedAt: typeof v['savedAt'] === 'string' ? v['savedAt'] : '', restore: changes };
}

/**
 * Puts a saved state back: checks first that every device still has the ifindex it had (else a
 * {@link StateFileError}, nothing changed), then applies the restore steps with rollback.
 */
export function restoreState(ctl: NicControl, state: SavedState, source: string): string[] {
  for (const [dev, ifindex] of Object.entries(state.devices)) {
    let now: number;
    try {
      now = ctl.ifindex(dev);
    } catch (e) {
      throw new StateFileError(source, `device ${dev} is gone (${e instanceof Error ? e.message : String(e)})`);
    }
    if (now !== ifindex) throw new StateFileError(source, `saved for ${dev} with ifindex ${ifindex}, but ${dev} is now ifindex ${now} (a different device)`);
  }
  return applyChanges(ctl, state.restore);
}
