// Change: one tuning step bpfkit can make and undo (channels, features, rings, RSS table, sysctl, IRQ affinity).
import type { ChannelsChange } from '../kernel/ethtool/channels.js';
import type { RingsChange } from '../kernel/ethtool/rings.js';

/** One applicable (and reversible) change. `device` is the interface it concerns, when it concerns one. */
export type Change =
  | { readonly kind: 'channels'; readonly device: string; readonly set: Readonly<ChannelsChange> }
  | {
      readonly kind: 'features';
      readonly device: string;
      readonly set: Readonly<Record<string, boolean>>;
      /** What must read back as asked: `active` (default; tuning) or only `wanted` (restoring a request a dependency held off). */
      readonly verify?: 'active' | 'wanted';
    }
  | { readonly kind: 'rings'; readonly device: string; readonly set: Readonly<RingsChange> }
  | { readonly kind: 'rss'; readonly device: string; readonly indir: readonly number[] }
  | { readonly kind: 'sysctl'; readonly name: string; readonly value: string }
  | { readonly kind: 'irq-affinity'; readonly irq: number; readonly cpus: readonly number[] }
  | { readonly kind: 'rps'; readonly device: string; readonly queue: number; readonly cpus: readonly number[] };

/** One line describing a change, in the CLI's words (`channels eth0 combined 8`). */
export function describeChange(c: Change): string {
  switch (c.kind) {
    case 'channels':
      return `channels ${c.device} ${Object.entries(c.set).map(([k, v]) => `${k} ${v}`).join(' ')}`;
    case 'features':
      return `features ${c.device} ${Object.entries(c.set).map(([k, v]) => `${k} ${v ? 'on' : 'off'}`).join(' ')}`;
    case 'rings':
      return `rings ${c.device} ${Object.entries(c.set).map(([k, v]) => `${k.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`)} ${v}`).join(' ')}`;
    case 'rss':
      return `rss ${c.device} table of ${c.indir.length} entries over ${new Set(c.indir).size} queues`;
    case 'sysctl':
      return `sysctl ${c.name}=${c.value}`;
    case 'irq-affinity':
      return `irq ${c.irq} affinity ${c.cpus.join(',')}`;
    case 'rps':
      return `rps ${c.device} rx-${c.queue} cpus ${c.cpus.length ? c.cpus.join(',') : 'none'}`;
  }
}
