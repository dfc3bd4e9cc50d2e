// Constructed device states for the audit tests: a healthy 8-CPU NIC and small edits of it.
import type { FeatureState } from '../../src/kernel/ethtool/features.js';
import { equalTable } from '../../src/kernel/ethtool/rss.js';
import type { NicSnapshot } from '../../src/nic/snapshot.js';

const feat = (name: string, active: boolean, changeable = true): FeatureState => ({ name, active, wanted: active, changeable, noChange: false });

/** A well-tuned 8-CPU machine with an 8-queue NIC: the audit finds nothing. */
export function healthy(): NicSnapshot {
  return {
    device: 'eth0',
    ifindex: 2,
    driver: 'mlx5_core',
    driverInfo: undefined,
    mtu: 1500,
    cpus: [0, 1, 2, 3, 4, 5, 6, 7],
    channels: { rxMax: 0, txMax: 0, otherMax: 1, combinedMax: 63, rx: 0, tx: 0, other: 1, combined: 8 },
    features: [feat('rx-checksum', true), feat('rx-gro', true), feat('rx-lro', false), feat('rx-gro-hw', false), feat('tx-generic-segmentation', true)],
    rings: { rxMax: 8192, rxMiniMax: 0, rxJumboMax: 0, txMax: 8192, rx: 1024, rxMini: 0, rxJumbo: 0, tx: 1024 },
    coalesce: { 'rx-usecs': 8 },
    rss: { context: 0, hfunc: 1, hfuncNames: ['toeplitz'], indir: equalTable(128, 8), hkey: new Uint8Array(40) },
    link: { link: true, speed: 100000, duplex: 'full', autoneg: false, lanes: 4 },
    xdpFeatures: { ifindex: 2, flags: 0x3f, names: ['basic', 'redirect', 'ndo-xmit', 'xsk-zerocopy', 'hw-offload', 'rx-sg'], zcMaxSegs: 1, rxMetadata: [], xsk: [] },
    xdp: { mode: 'none', nativeProgId: 0, genericProgId: 0, offloadProgId: 0 },
    tc: [],
    queues: [],
    irqs: Array.from({ length: 8 }, (_, i) => ({ irq: 90 + i, name: `mlx5_comp${i}@pci:0000:3b:00.0`, counts: [], affinity: [i], effective: [i] })),
    sysctls: { 'net.core.bpf_jit_enable': '1', 'net.core.netdev_budget': '300', 'net.core.netdev_max_backlog': '1000' },
    rx: { packets: 1e9, dropped: 0, missed: 0, fifoErrors: 0, overErrors: 0 },
    unavailable: {},
  };
}

/** `healthy()` with `edit` applied. */
export function withState(edit: (s: { -readonly [K in keyof NicSnapshot]: NicSnapshot[K] }) => void): NicSnapshot {
  const s = healthy();
  edit(s);
  return s;
}

export { feat };
