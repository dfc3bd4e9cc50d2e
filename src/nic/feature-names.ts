// Offload feature names: ethtool's short and long names <-> the kernel's netdev feature strings.
import { BpfkitError } from '../errors.js';

/**
 * ethtool's names for groups of kernel features (`ethtool -K DEV gro off`, and the headings
 * `ethtool -k` prints), each to the kernel strings (ETH_SS_FEATURES) it stands for. From
 * ethtool's `off_flag_def` table: `tso` covers all four TCP segmentation bits, `tx` all the
 * transmit checksum bits.
 */
export const FEATURE_ALIASES: Readonly<Record<string, readonly string[]>> = {
  rx: ['rx-checksum'],
  'rx-checksumming': ['rx-checksum'],
  tx: ['tx-checksum-ipv4', 'tx-checksum-ip-generic', 'tx-checksum-ipv6', 'tx-checksum-fcoe-crc', 'tx-checksum-sctp'],
  'tx-checksumming': ['tx-checksum-ipv4', 'tx-checksum-ip-generic', 'tx-checksum-ipv6', 'tx-checksum-fcoe-crc', 'tx-checksum-sctp'],
  sg: ['tx-scatter-gather'],
  'scatter-gather': ['tx-scatter-gather'],
  tso: ['tx-tcp-segmentation', 'tx-tcp-ecn-segmentation', 'tx-tcp-mangleid-segmentation', 'tx-tcp6-segmentation'],
  'tcp-segmentation-offload': ['tx-tcp-segmentation', 'tx-tcp-ecn-segmentation', 'tx-tcp-mangleid-segmentation', 'tx-tcp6-segmentation'],
  ufo: ['tx-udp-fragmentation'],
  'udp-fragmentation-offload': ['tx-udp-fragmentation'],
  gso: ['tx-generic-segmentation'],
  'generic-segmentation-offload': ['tx-generic-segmentation'],
  gro: ['rx-gro'],
  'generic-receive-offload': ['rx-gro'],
  lro: ['rx-lro'],
  'large-receive-offload': ['rx-lro'],
  rxvlan: ['rx-vlan-hw-parse'],
  'rx-vlan-offload': ['rx-vlan-hw-parse'],
  txvlan: ['tx-vlan-hw-insert'],
  'tx-vlan-offload': ['tx-vlan-hw-insert'],
  ntuple: ['rx-ntuple-filter'],
  'ntuple-filters': ['rx-ntuple-filter'],
  rxhash: ['rx-hashing'],
  'receive-hashing': ['rx-hashing'],
};

/** The short name ethtool prints for a kernel feature string, when it has one (`rx-gro` -> `gro`). */
export function shortFeatureName(kernelName: string): string | undefined {
  for (const [alias, names] of Object.entries(FEATURE_ALIASES)) {
    if (alias.length <= 6 && names.length === 1 && names[0] === kernelName) return alias;
  }
  return undefined;
}

/** A feature name neither the kernel (for this device) nor ethtool knows. */
export class UnknownFeatureError extends BpfkitError {
  constructor(
    readonly feature: string,
    readonly device: string,
    readonly suggestions: readonly string[],
  ) {
    super('ERR_NIC_UNKNOWN_FEATURE', `${device}: unknown feature '${feature}'${suggestions.length > 0 ? ` (did you mean ${suggestions.map((s) => `'${s}'`).join(', ')}?)` : ''}`);
  }
}

/** Levenshtein distance, for suggestions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to `max` names from `candidates` closest to `name` (edit distance, or a shared substring). */
export function closeMatches(name: string, candidates: Iterable<string>, max = 3): string[] {
  const scored: { c: string; d: number }[] = [];
  for (const c of new Set(candidates)) {
    const d = editDistance(name, c);
    const limit = Math.max(2, Math.floor(name.length / 3));
    if (d <= limit || (name.length >= 3 && c.includes(name))) scored.push({ c, d });
  }
  return scored.sort((x, y) => x.d - y.d || x.c.localeCompare(y.c)).slice(0, max).map((s) => s.c);
}

/**
 * Resolves a user's feature name to the kernel strings it means, against the names the device
 * reports (`known`, from ETH_SS_FEATURES). Kernel strings pass through; ethtool's names expand
 * to the members the device has. Throws {@link UnknownFeatureError} listing close matches.
 */
export function resolveFeatureName(name: string, known: ReadonlySet<string>, device: string): string[] {
  if (known.has(name)) return [name];
  const alias = FEATURE_ALIASES[name];
  if (alias) {
    const present = alias.filter((n) => known.has(n));
    if (present.length > 0) return present;
  }
  throw new UnknownFeatureError(name, device, closeMatches(name, [...known, ...Object.keys(FEATURE_ALIASES)]));
}
