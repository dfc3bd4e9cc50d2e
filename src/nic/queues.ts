// A device's queues (rps_cpus, xps_cpus) from sysfs and its IRQs with their CPU affinity from /proc.
import { isErrno } from '../kernel/kernel-error.js';
import { NoSuchDeviceError } from '../kernel/ethtool/errors.js';
import type { Sys } from '../kernel/sys.js';
import { formatCpuList, formatCpuMask, parseCpuList, parseCpuMask } from './cpu-list.js';

/** One receive or transmit queue of a device, from /sys/class/net/DEV/queues. */
export interface QueueInfo {
  /** `rx` or `tx`. */
  readonly kind: 'rx' | 'tx';
  readonly index: number;
  /** rx: CPUs RPS steers to (empty: RPS off); tx: CPUs XPS maps to this queue. Undefined when unreadable. */
  readonly cpus: readonly number[] | undefined;
  /** rx only: rps_flow_cnt (RFS per-queue table size). */
  readonly flowCount?: number;
}

/** One interrupt line of a device, from /proc/interrupts and /proc/irq/N. */
export interface IrqInfo {
  readonly irq: number;
  /** The action name (`eth0-TxRx-3`, `virtio2-input.0`, `mlx5_comp3@pci:...`). */
  readonly name: string;
  /** Interrupts taken per CPU so far (index = CPU). */
  readonly counts: readonly number[];
  /** CPUs allowed to take it (smp_affinity_list). Undefined when unreadable. */
  readonly affinity: readonly number[] | undefined;
  /** CPUs it is really delivered to (effective_affinity_list), when the kernel reports it. */
  readonly effective: readonly number[] | undefined;
}

const text = (sys: Sys, path: string): string => new TextDecoder().decode(sys.readFile(path));

function tryText(sys: Sys, path: string): string | undefined {
  try {
    return text(sys, path);
  } catch {
    return undefined;
  }
}

/** Checks that `dev` exists (as /sys/class/net/DEV) and is a plain interface name. */
export function checkDevice(sys: Sys, dev: string): void {
  if (!/^[^/\s:]{1,15}$/.test(dev) || dev === '.' || dev === '..') throw new NoSuchDeviceError(dev);
  try {
    sys.readFile(`/sys/class/net/${dev}/ifindex`);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENODEV')) throw new NoSuchDeviceError(dev, { cause: e });
    throw e;
  }
}

/** A numeric sysfs attribute of the device (`mtu`, `ifindex`, `statistics/rx_dropped`), or undefined. */
export function readDeviceNumber(sys: Sys, dev: string, attr: string): number | undefined {
  const t = tryText(sys, `/sys/class/net/${dev}/${attr}`);
  if (t === undefined) return undefined;
  const n = Number(t.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** The device's queues, rx first then tx, each in index order. */
export function readQueues(sys: Sys, dev: string): QueueInfo[] {
  checkDevice(sys, dev);
  const dir = `/sys/class/net/${dev}/queues`;
  const out: QueueInfo[] = [];
  const names = sys.listDir(dir).filter((n) => /^(rx|tx)-\d+$/.test(n));
  names.sort((a, b) => (a[0] === b[0] ? Number(a.slice(3)) - Number(b.slice(3)) : a < b ? -1 : 1));
  for (const name of names) {
    const kind = name.startsWith('rx') ? 'rx' : 'tx';
    const mask = tryText(sys, `${dir}/${name}/${kind === 'rx' ? 'rps_cpus' : 'xps_cpus'}`);
    let cpus: number[] | undefined;
    try {
      cpus = mask === undefined ? undefined : parseCpuMask(mask);
    } catch {
      cpus = undefined;
    }
    const flow = kind === 'rx' ? tryText(sys, `${dir}/${name}/rps_flow_cnt`) : undefined;
    out.push({ kind, index: Number(name.slice(3)), cpus, ...(flow !== undefined ? { flowCount: Number(flow.trim()) } : {}) });
  }
  return out;
}

/** Sets RPS (rx) or XPS (tx) CPUs of one queue. */
export function writeQueueCpus(sys: Sys, dev: string, kind: 'rx' | 'tx', index: number, cpus: readonly number[]): void {
  checkDevice(sys, dev);
  const file = kind === 'rx' ? 'rps_cpus' : 'xps_cpus';
  sys.writeFile(`/sys/class/net/${dev}/queues/${kind}-${index}/${file}`, new TextEncoder().encode(`${formatCpuMask(cpus)}\n`));
}

/** One row of /proc/interrupts. */
export interface InterruptRow {
  /** The IRQ number, or undefined for the named rows (NMI, LOC...). */
  readonly irq: number | undefined;
  readonly label: string;
  readonly counts: number[];
  /** Everything after the counts: chip, hwirq, trigger, action names. */
  readonly description: string;
  /** The last word: the action name for device IRQs. */
  readonly name: string;
}

/** Parses /proc/interrupts: a header of CPU columns, then one row per line. */
export function parseInterrupts(content: string): InterruptRow[] {
  const lines = content.split('\n');
  const header = lines[0] ?? '';
  const ncpu = header.trim() === '' ? 0 : header.trim().split(/\s+/).length;
  const rows: InterruptRow[] = [];
  for (const line of lines.slice(1)) {
    const m = /^\s*([^:\s]+):(.*)$/.exec(line);
    if (!m) continue;
    const label = m[1]!;
    const words = m[2]!.trim().split(/\s+/).filter((w) => w !== '');
    const counts: number[] = [];
    while (counts.length < ncpu && words.length > 0 && /^\d+$/.test(words[0]!)) counts.push(Number(words.shift()));
    const description = words.join(' ');
    rows.push({ irq: /^\d+$/.test(label) ? Number(label) : undefined, label, counts, description, name: words[words.length - 1] ?? '' });
  }
  return rows;
}

/** Words in an IRQ action name that mark a data queue rather than config/control/link. */
const QUEUE_IRQ = /(rx|tx|input|output|comp|queue|fp|ring)/i;

/**
 * The device's queue IRQs. Found through the PCI function's `msi_irqs` directory (the device's
 * own, or its parent's for virtio), keeping data-queue vectors; or, failing that, by rows whose
 * action name contains the device name (`eth0-TxRx-0`). Software devices (veth) have none.
 */
export function readIrqs(sys: Sys, dev: string): IrqInfo[] {
  checkDevice(sys, dev);
  const interrupts = tryText(sys, '/proc/interrupts');
  if (interrupts === undefined) return [];
  const rows = parseInterrupts(interrupts).filter((r) => r.irq !== undefined);
  let msi: Set<number> | undefined;
  for (const dir of [`/sys/class/net/${dev}/device/msi_irqs`, `/sys/class/net/${dev}/device/../msi_irqs`]) {
    try {
      msi = new Set(sys.listDir(dir).filter((n) => /^\d+$/.test(n)).map(Number));
      break;
    } catch {
      // not a PCI function (or not this level): try the next
    }
  }
  const byName = (r: InterruptRow) => r.name.includes(dev) && QUEUE_IRQ.test(r.name.replace(dev, ''));
  const picked = msi ? rows.filter((r) => msi.has(r.irq!) && (QUEUE_IRQ.test(r.name) || r.name.includes(dev)) && !/config|ctrl|async|event|link/i.test(r.name)) : rows.filter(byName);
  return picked.map((r) => {
    const aff = tryText(sys, `/proc/irq/${r.irq}/smp_affinity_list`);
    const eff = tryText(sys, `/proc/irq/${r.irq}/effective_affinity_list`);
    const list = (t: string | undefined) => {
      try {
        return t === undefined ? undefined : parseCpuList(t);
      } catch {
        return undefined;
      }
    };
    return { irq: r.irq!, name: r.name, counts: r.counts, affinity: list(aff), effective: list(eff) };
  });
}

/** Sets an IRQ's CPU affinity (`/proc/irq/N/smp_affinity_list`). */
export function writeIrqAffinity(sys: Sys, irq: number, cpus: readonly number[]): void {
  sys.writeFile(`/proc/irq/${irq}/smp_affinity_list`, new TextEncoder().encode(`${formatCpuList(cpus)}\n`));
}

/** The CPUs online now (`/sys/devices/system/cpu/online`). */
export function onlineCpus(sys: Sys): number[] {
  return parseCpuList(text(sys, '/sys/devices/system/cpu/online'));
}
