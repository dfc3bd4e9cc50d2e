// A veth pair for the NIC tests: one end in the root namespace (where the test process is), the peer in a namespace; ethtool as the oracle.
import { execFileSync } from 'node:child_process';
import { nsExec, uniqueName, withNetns, type Netns } from '../../support/netns.js';
import { FEATURE_ALIASES } from '../../../src/nic/feature-names.js';

/** The pair: `dev` in the root namespace, `peer` inside `ns`. */
export interface NicVeth {
  readonly dev: string;
  readonly peer: string;
  readonly ns: Netns;
}

/**
 * Creates namespace `bpfkit-nic-...` and a veth pair with `queues` rx/tx queues per end (`bknic...a`
 * in the root namespace, `...b` in the namespace), runs `fn`, and removes both in `finally`.
 */
export async function withNicVeth<T>(queues: number, fn: (v: NicVeth) => Promise<T> | T): Promise<T> {
  return withNetns('bpfkit-nic-', async (ns) => {
    const base = uniqueName('bknic', 14);
    const dev = `${base}a`;
    const peer = `${base}b`;
    const q = String(queues);
    nsExec(undefined, ['ip', 'link', 'add', dev, 'numrxqueues', q, 'numtxqueues', q, 'type', 'veth', 'peer', 'name', peer, 'netns', ns.name, 'numrxqueues', q, 'numtxqueues', q]);
    try {
      nsExec(undefined, ['sysctl', '-q', '-w', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
      nsExec(undefined, ['ip', 'link', 'set', dev, 'up']);
      ns.exec(['ip', 'link', 'set', peer, 'up']);
      return await fn({ dev, peer, ns });
    } finally {
      try {
        nsExec(undefined, ['ip', 'link', 'del', dev]);
      } catch {
        // gone with the namespace
      }
    }
  });
}

/** `ethtool ARGS` in the root namespace; stdout. */
export function ethtool(...args: string[]): string {
  return execFileSync('ethtool', args, { encoding: 'utf8' });
}

/** Channels as `ethtool -l` prints them: [maximums, current], each kind -> number or undefined for n/a. */
export function ethtoolChannels(dev: string): { max: Record<string, number | undefined>; cur: Record<string, number | undefined> } {
  const text = ethtool('-l', dev);
  const [maxPart, curPart] = text.split(/Current hardware settings:/);
  const parse = (part: string | undefined) => {
    const out: Record<string, number | undefined> = {};
    for (const m of (part ?? '').matchAll(/^(RX|TX|Other|Combined):\s+(\S+)/gm)) out[m[1]!.toLowerCase()] = m[2] === 'n/a' ? undefined : Number(m[2]);
    return out;
  };
  return { max: parse(maxPart), cur: parse(curPart) };
}

/** Features as `ethtool --json -k` reports them, keyed by the kernel's string (ethtool's long names translated). */
export function ethtoolFeatures(dev: string): Map<string, { active: boolean; fixed: boolean; requested: boolean }> {
  const doc = JSON.parse(ethtool('--json', '-k', dev)) as Record<string, unknown>[];
  const out = new Map<string, { active: boolean; fixed: boolean; requested: boolean }>();
  for (const [key, v] of Object.entries(doc[0] ?? {})) {
    if (key === 'ifname' || typeof v !== 'object' || v === null) continue;
    const f = v as { active: boolean; fixed: boolean | null; requested: boolean | null };
    if (f.fixed === null) continue; // a group heading (tx-checksumming, scatter-gather...)
    const alias = FEATURE_ALIASES[key];
    const name = alias && alias.length === 1 ? alias[0]! : key;
    out.set(name, { active: f.active, fixed: f.fixed, requested: f.requested ?? f.active });
  }
  return out;
}
