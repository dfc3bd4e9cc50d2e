// The NIC audit: pure rules over a NicSnapshot, each finding with severity, evidence, reason and fix commands.
import { equalTable } from '../kernel/ethtool/rss.js';
import type { Change } from './change.js';
import { formatCpuMask } from './cpu-list.js';
import type { NicSnapshot } from './snapshot.js';

/** How much a finding costs: `high` loses packets or correctness, `medium` performance, `low` headroom. */
export type Severity = 'high' | 'medium' | 'low';

/** The commands that fix a finding: bpfkit's, ethtool's (or the plain shell's when ethtool has none). */
export interface Fix {
  readonly bpfkit?: string;
  readonly ethtool?: string;
  readonly shell?: string;
}

/** One thing to change and why. */
export interface Finding {
  /** Stable rule id (`queues-fewer-than-cpus`). */
  readonly id: string;
  readonly severity: Severity;
  /** One line: what is wrong. */
  readonly title: string;
  /** The values that show it. */
  readonly evidence: string;
  /** Why it matters. */
  readonly reason: string;
  readonly fix: Fix;
  /** What `--apply` does for it; absent when it needs a person (reloading a program, MTU). */
  readonly changes: readonly Change[];
}

/** One audit rule: a pure function of the snapshot. */
export interface AuditRule {
  readonly id: string;
  readonly check: (s: NicSnapshot) => Finding | undefined;
}

/** Largest MTU a single-buffer XDP program takes on 4 KiB pages: 4096 - 256 headroom - 320 skb_shared_info - 14 Ethernet - 8 VLAN. */
export const XDP_SINGLE_BUFFER_MAX_MTU = 3498;
/** `net.core.netdev_budget` below this (the kernel default) is tiny. */
export const BUDGET_MIN = 300;
/** What the audit raises a tiny `netdev_budget` to. */
export const BUDGET_RECOMMENDED = 600;
/** `net.core.netdev_max_backlog` below this (the kernel default) is tiny. */
export const BACKLOG_MIN = 1000;
/** What the audit raises a tiny `netdev_max_backlog` to. */
export const BACKLOG_RECOMMENDED = 5000;

const feature = (s: NicSnapshot, name: string) => s.features.find((f) => f.name === name);
const xdpAttached = (s: NicSnapshot) => s.xdp.mode !== 'none';

/** How many rx queues really receive: combined, or rx when the driver splits them. */
export function activeRxQueues(s: NicSnapshot): number | undefined {
  const c = s.channels;
  if (!c) return undefined;
  return c.combined + c.rx || undefined;
}

const queuesRule: AuditRule = {
  id: 'queues-fewer-than-cpus',
  check(s) {
    const c = s.channels;
    if (!c) return undefined;
    const ncpu = s.cpus.length;
    const kind = c.combinedMax > 0 ? 'combined' : c.rxMax > 0 ? 'rx' : undefined;
    if (!kind) return undefined;
    const cur = kind === 'combined' ? c.combined : c.rx;
    const max = kind === 'combined' ? c.combinedMax : c.rxMax;
    const want = Math.min(ncpu, max);
    if (cur >= want) return undefined;
    const set = kind === 'combined' ? { combined: want } : { rx: want, ...(c.txMax > 0 && c.tx < Math.min(ncpu, c.txMax) ? { tx: Math.min(ncpu, c.txMax) } : {}) };
    const words = Object.entries(set).map(([k, v]) => `${k} ${v}`).join(' ');
    return {
      id: this.id,
      severity: 'medium',
      title: `${cur} ${kind} queue${cur === 1 ? '' : 's'} for ${ncpu} CPUs`,
      evidence: `channels: ${kind} ${cur} (max ${max}); ${ncpu} CPUs online`,
      reason: `each receive queue is served by one CPU's NAPI poll (and XDP runs there): with fewer queues than CPUs, ${ncpu - cur} CPU(s) the hardware allows cannot take receive work`,
      fix: { bpfkit: `bpfkit nic channels ${s.device} ${words}`, ethtool: `ethtool -L ${s.device} ${words}` },
      changes: [{ kind: 'channels', device: s.device, set }],
    };
  },
};

const rssRule: AuditRule = {
  id: 'rss-uneven',
  check(s) {
    const indir = s.rss?.indir;
    const n = activeRxQueues(s);
    if (!indir || indir.length === 0 || !n || n < 2) return undefined;
    const counts = new Array<number>(n).fill(0);
    let outside = 0;
    for (const q of indir) {
      if (q < n) counts[q]!++;
      else outside++;
    }
    const min = Math.min(...counts);
    const max = Math.max(...counts);
    const ideal = Math.floor(indir.length / n);
    // An equal spread differs by at most one entry per queue.
    if (outside === 0 && max - min <= 1) return undefined;
    const idle = counts.map((c, q) => (c === 0 ? q : -1)).filter((q) => q >= 0);
    return {
      id: this.id,
      severity: idle.length > 0 || outside > 0 ? 'high' : 'medium',
      title: `RSS indirection table spreads unevenly over ${n} queues`,
      evidence: `entries per queue: ${counts.join(' ')} (equal would be ${ideal}${indir.length % n ? `-${ideal + 1}` : ''})${idle.length ? `; queues ${idle.join(',')} get none` : ''}${outside ? `; ${outside} entries point past queue ${n - 1}` : ''}`,
      reason: 'RSS hashes each flow to a table entry and the entry to a queue: a queue with more entries gets more flows, its CPU saturates first and drops while others idle',
      fix: { bpfkit: `bpfkit nic rss ${s.device} equal ${n}`, ethtool: `ethtool -X ${s.device} equal ${n}` },
      changes: [{ kind: 'rss', device: s.device, indir: equalTable(indir.length, n) }],
    };
  },
};

const irqRule: AuditRule = {
  id: 'irqs-one-cpu',
  check(s) {
    const ncpu = s.cpus.length;
    const lists = s.irqs.map((i) => i.effective ?? i.affinity).filter((l): l is readonly number[] => l !== undefined);
    if (s.irqs.length < 2 || ncpu < 2 || lists.length < s.irqs.length) return undefined;
    const cpus = new Set(lists.flat());
    if (cpus.size !== 1) return undefined;
    const cpu = [...cpus][0]!;
    const changes: Change[] = s.irqs.map((irq, i) => ({ kind: 'irq-affinity', irq: irq.irq, cpus: [s.cpus[i % ncpu]!] }));
    return {
      id: this.id,
      severity: 'high',
      title: `all ${s.irqs.length} queue IRQs go to CPU ${cpu}`,
      evidence: s.irqs.map((i) => `irq ${i.irq} (${i.name}) -> CPU ${(i.effective ?? i.affinity ?? []).join(',')}`).join('; '),
      reason: 'the CPU that takes a queue\'s interrupt runs its NAPI poll and XDP program: with every queue on one CPU, more queues add no parallelism',
      fix: {
        bpfkit: `bpfkit nic audit ${s.device} --apply --save FILE`,
        shell: changes.map((c) => (c.kind === 'irq-affinity' ? `echo ${c.cpus.join(',')} > /proc/irq/${c.irq}/smp_affinity_list` : '')).join('; ') + ' (and stop irqbalance, or ban these IRQs in it)',
      },
      changes,
    };
  },
};

const lroRule: AuditRule = {
  id: 'lro-with-xdp',
  check(s) {
    if (!xdpAttached(s)) return undefined;
    const on = ['rx-lro', 'rx-gro-hw'].filter((n) => feature(s, n)?.active);
    if (on.length === 0) return undefined;
    const changeable = on.filter((n) => feature(s, n)?.changeable);
    const words = on.map((n) => `${n} off`).join(' ');
    return {
      id: this.id,
      severity: 'high',
      title: `${on.join(' and ')} on while XDP is attached`,
      evidence: `features: ${on.map((n) => `${n}: on`).join(', ')}; XDP ${s.xdp.mode}`,
      reason: 'XDP sees one packet per frame; hardware receive aggregation (LRO, hardware GRO) merges frames before XDP, so drivers refuse native XDP with it on, or the program sees merged super-frames',
      fix: { bpfkit: `bpfkit nic features ${s.device} ${words}`, ethtool: `ethtool -K ${s.device} ${words}` },
      changes: changeable.length ? [{ kind: 'features', device: s.device, set: Object.fromEntries(changeable.map((n) => [n, false])) }] : [],
    };
  },
};

const genericRule: AuditRule = {
  id: 'xdp-generic-could-be-native',
  check(s) {
    if (s.xdp.mode !== 'generic' || !s.xdpFeatures || (s.xdpFeatures.flags & 1) === 0) return undefined;
    return {
      id: this.id,
      severity: 'medium',
      title: 'XDP runs in generic (skb) mode on a device with native XDP',
      evidence: `XDP generic, program id ${s.xdp.genericProgId}; xdp-features: ${s.xdpFeatures.names.join(', ')}`,
      reason: 'generic XDP runs after the kernel has allocated an sk_buff, so it saves little; the driver supports native XDP, which runs before any allocation',
      fix: { bpfkit: `bpfkit detach xdp --dev ${s.device} --mode skb && bpfkit attach xdp OBJ --dev ${s.device} --mode native`, shell: `ip link set dev ${s.device} xdpgeneric off && xdp-loader load --mode native ${s.device} OBJ` },
      changes: [],
    };
  },
};

const mtuRule: AuditRule = {
  id: 'mtu-too-large-for-xdp',
  check(s) {
    if (!xdpAttached(s) || s.mtu <= XDP_SINGLE_BUFFER_MAX_MTU) return undefined;
    const sg = s.xdpFeatures?.names.includes('rx-sg') ?? false;
    return {
      id: this.id,
      severity: 'high',
      title: `MTU ${s.mtu} is larger than a single-buffer XDP program can take (${XDP_SINGLE_BUFFER_MAX_MTU})`,
      evidence: `mtu ${s.mtu}; XDP ${s.xdp.mode}; xdp-features ${sg ? 'include' : 'lack'} rx-sg`,
      reason: `a frame larger than one page minus headroom needs multi-buffer XDP: unless the program was loaded with BPF_F_XDP_HAS_FRAGS (SEC("xdp.frags")) the driver refuses it or drops large frames${sg ? '' : '; this driver has no multi-buffer XDP (rx-sg), so lowering the MTU is the only fix'}`,
      fix: { shell: `ip link set dev ${s.device} mtu ${XDP_SINGLE_BUFFER_MAX_MTU}${sg ? '  (or load the program as xdp.frags)' : ''}` },
      changes: [],
    };
  },
};

const rxcsumRule: AuditRule = {
  id: 'rx-checksum-off',
  check(s) {
    const f = feature(s, 'rx-checksum');
    if (!f || f.active || !f.changeable) return undefined;
    return {
      id: this.id,
      severity: 'medium',
      title: 'receive checksum offload is off',
      evidence: 'features: rx-checksum: off (changeable)',
      reason: 'without rx-checksum the CPU verifies every TCP/UDP checksum in software, and XDP metadata and GRO lose CHECKSUM_UNNECESSARY',
      fix: { bpfkit: `bpfkit nic features ${s.device} rx on`, ethtool: `ethtool -K ${s.device} rx on` },
      changes: [{ kind: 'features', device: s.device, set: { 'rx-checksum': true } }],
    };
  },
};

const jitRule: AuditRule = {
  id: 'bpf-jit-disabled',
  check(s) {
    const v = s.sysctls['net.core.bpf_jit_enable'];
    if (v !== '0') return undefined;
    return {
      id: this.id,
      severity: 'high',
      title: 'the BPF JIT is disabled',
      evidence: 'net.core.bpf_jit_enable = 0',
      reason: 'every XDP and TC program runs in the kernel\'s interpreter, several times slower than JITed code',
      fix: { bpfkit: 'bpfkit nic sysctl net.core.bpf_jit_enable=1', shell: 'sysctl -w net.core.bpf_jit_enable=1' },
      changes: [{ kind: 'sysctl', name: 'net.core.bpf_jit_enable', value: '1' }],
    };
  },
};

const ringsRule: AuditRule = {
  id: 'small-rings-dropping',
  check(s) {
    const r = s.rings;
    if (!r || r.rxMax === 0 || r.rx >= r.rxMax) return undefined;
    const drops = (s.rx.missed ?? 0) + (s.rx.fifoErrors ?? 0) + (s.rx.overErrors ?? 0);
    if (drops === 0) return undefined;
    return {
      id: this.id,
      severity: 'medium',
      title: `rx ring ${r.rx} of ${r.rxMax} on a device that drops`,
      evidence: `rings: rx ${r.rx} (max ${r.rxMax}); rx missed ${s.rx.missed ?? 0}, fifo ${s.rx.fifoErrors ?? 0}, over ${s.rx.overErrors ?? 0}`,
      reason: 'the NIC drops frames when the rx ring is full before NAPI empties it; a larger ring absorbs bursts (at some cache cost)',
      fix: { bpfkit: `bpfkit nic rings ${s.device} rx ${r.rxMax}`, ethtool: `ethtool -G ${s.device} rx ${r.rxMax}` },
      changes: [{ kind: 'rings', device: s.device, set: { rx: r.rxMax } }],
    };
  },
};

function sysctlFloorRule(id: string, name: string, min: number, recommended: number, reason: string): AuditRule {
  return {
    id,
    check(s) {
      const raw = s.sysctls[name];
      const v = raw === undefined ? NaN : Number(raw);
      if (!Number.isFinite(v) || v >= min) return undefined;
      return {
        id,
        severity: 'medium',
        title: `${name} is ${v}, below the kernel default ${min}`,
        evidence: `${name} = ${v}`,
        reason,
        fix: { bpfkit: `bpfkit nic sysctl ${name}=${recommended}`, shell: `sysctl -w ${name}=${recommended}` },
        changes: [{ kind: 'sysctl', name, value: String(recommended) }],
      };
    },
  };
}

const rpsRule: AuditRule = {
  id: 'rps-off-single-queue',
  check(s) {
    const ncpu = s.cpus.length;
    const rxQueues = s.queues.filter((q) => q.kind === 'rx');
    const c = s.channels;
    const canAddQueues = c !== undefined && Math.max(c.combinedMax, c.rxMax) > 1;
    const q0 = rxQueues[0];
    if (ncpu < 2 || rxQueues.length !== 1 || canAddQueues || !q0 || q0.cpus === undefined || q0.cpus.length > 0) return undefined;
    const mask = formatCpuMask(s.cpus);
    return {
      id: this.id,
      severity: 'low',
      title: `one receive queue and RPS off on a ${ncpu}-CPU machine`,
      evidence: `${s.device} has 1 rx queue${c ? ` (maximum ${Math.max(c.combinedMax, c.rxMax, 1)})` : ''}; queues/rx-0/rps_cpus = 0`,
      reason: 'with a single hardware queue, all protocol processing after XDP (XDP_PASS traffic) runs on the CPU that takes the interrupt; RPS hashes flows to other CPUs in software (XDP itself still runs on the one CPU)',
      fix: { bpfkit: `bpfkit nic audit ${s.device} --rules ${this.id} --apply --save FILE`, shell: `echo ${mask} > /sys/class/net/${s.device}/queues/rx-0/rps_cpus` },
      changes: [{ kind: 'rps', device: s.device, queue: q0.index, cpus: [...s.cpus] }],
    };
  },
};

/** Every rule, in report order. */
export const AUDIT_RULES: readonly AuditRule[] = [
  queuesRule,
  rssRule,
  irqRule,
  lroRule,
  genericRule,
  mtuRule,
  rxcsumRule,
  jitRule,
  ringsRule,
  rpsRule,
  sysctlFloorRule('netdev-budget-tiny', 'net.core.netdev_budget', BUDGET_MIN, BUDGET_RECOMMENDED, 'one softirq round stops after this many packets across all devices; a small budget defers the rest to ksoftirqd and rings overflow under load'),
  sysctlFloorRule('backlog-tiny', 'net.core.netdev_max_backlog', BACKLOG_MIN, BACKLOG_RECOMMENDED, 'packets queued to a CPU by RPS, generic XDP redirect or veth wait in this backlog; when it is full they are dropped (softnet_stat column 2)'),
];

const ORDER: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

/** Runs every rule on `s`; findings sorted by severity, then rule order. */
export function audit(s: NicSnapshot, rules: readonly AuditRule[] = AUDIT_RULES): Finding[] {
  const out: Finding[] = [];
  for (const r of rules) {
    const f = r.check(s);
    if (f) out.push(f);
  }
  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}
