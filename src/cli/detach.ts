// `bpfkit detach xdp|tc --dev IFACE ...`: remove what is attached (links pinned or not, netlink, filters).
import { existsSync, lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { linkInfo } from '../kernel/bpf/obj-info.js';
import { getPinnedObject } from '../kernel/bpf/obj-pin.js';
import { detachTc } from '../kernel/attach/tc.js';
import { detachXdp, XDP_MODE_BPFTOOL } from '../kernel/attach/xdp.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { parseDirection, parseXdpMode } from './attach.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';

/** Usage text of `detach`. */
export const detachUsage = [
  'bpfkit detach xdp --dev IFACE [--mode skb|native|hw] [--pin PATH]',
  '       bpfkit detach tc --dev IFACE --direction ingress|egress [--classic|--tcx] [--pin PATH]',
  '       (pins of the detached links found under /sys/fs/bpf are removed too; --pin names one elsewhere)',
].join('\n');

/** Options of `detach`. */
export const detachOptions: OptionSpec = {
  dev: { type: 'string' },
  mode: { type: 'string' },
  direction: { type: 'string' },
  classic: { type: 'boolean' },
  tcx: { type: 'boolean' },
  pin: { type: 'string' },
};

/** `bpfkit detach ...` on the real kernel. */
export function detach(args: CommandArgs, io: Io): number {
  return runDetach(args, io, createKernelSys());
}

const BPFFS = '/sys/fs/bpf';

/**
 * Pins under `root` (depth <= 4, at most 4096 entries looked at) of the links in `linkIds`: a
 * detached link is defunct, so its pins are only names left behind.
 */
export function findLinkPins(sys: Sys, linkIds: ReadonlySet<number>, root = BPFFS): string[] {
  const found: string[] = [];
  let budget = 4096;
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (budget-- <= 0) return;
      const path = `${dir}/${name}`;
      let st;
      try {
        st = lstatSync(path);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < 4) walk(path, depth + 1);
        continue;
      }
      if (!st.isFile()) continue;
      try {
        using fd = getPinnedObject(sys, path, 'link');
        if (linkIds.has(linkInfo(fd).id)) found.push(path);
      } catch {
        // not a link (a map or program pin), or not ours to open
      }
    }
  };
  if (linkIds.size > 0 && existsSync(root)) walk(root, 0);
  return found;
}

/** `bpfkit detach ...` with an injected Sys. Detaching where nothing is attached succeeds and says so. */
export function runDetach(args: CommandArgs, io: Io, sys: Sys): number {
  const kind = args.positional(0, 'what to detach (xdp or tc)', detachUsage);
  if (kind !== 'xdp' && kind !== 'tc') throw new UsageError(`detach what? expected xdp or tc, got '${kind}'`, detachUsage);
  args.done(detachUsage);
  const dev = args.value('dev');
  if (!dev) throw new UsageError('missing --dev IFACE', detachUsage);
  if (args.flag('classic') && args.flag('tcx')) throw new UsageError('--classic and --tcx exclude each other', detachUsage);
  const pin = args.value('pin');
  const removed: Record<string, unknown>[] = [];
  const lines: string[] = [];
  if (kind === 'xdp') {
    for (const d of detachXdp(sys, dev, { mode: parseXdpMode(args.value('mode'), detachUsage) })) {
      removed.push({ devname: d.ifname, ifindex: d.ifindex, mode: XDP_MODE_BPFTOOL[d.mode], id: d.progId, via: d.via, ...(d.linkId ? { link_id: d.linkId } : {}) });
      lines.push(`detached xdp prog id ${d.progId} (${d.mode} mode, ${d.via === 'link' ? `link ${d.linkId}` : 'netlink'}) from ${d.ifname}`);
    }
  } else {
    const direction = parseDirection(args.value('direction'), detachUsage);
    const via = args.flag('classic') ? 'clsact' : args.flag('tcx') ? 'tcx' : undefined;
    for (const d of detachTc(sys, dev, { direction, via })) {
      removed.push({ devname: d.ifname, ifindex: d.ifindex, kind: `${d.via}/${d.direction}`, prog_id: d.progId, ...(d.linkId ? { link_id: d.linkId } : {}) });
      lines.push(`detached ${d.via}/${d.direction} prog id ${d.progId}${d.linkId ? ` (link ${d.linkId})` : d.priority ? ` (pref ${d.priority} handle ${d.handle})` : ''} from ${d.ifname}`);
    }
  }
  // A detached link is defunct; its pins are only names. Remove the one named and any under /sys/fs/bpf.
  const linkIds = new Set(removed.map((r) => r['link_id']).filter((id): id is number => typeof id === 'number'));
  const pins = new Set(findLinkPins(sys, linkIds));
  if (pin && existsSync(pin)) pins.add(pin);
  const unpinned: string[] = [];
  for (const p of pins) {
    try {
      unlinkSync(p);
      unpinned.push(p);
      lines.push(`removed pin ${p}`);
    } catch (err) {
      lines.push(`could not remove pin ${p}: ${(err as Error).message}`);
    }
  }
  if (args.json) io.out(json({ detached: removed, unpinned }, args.pretty));
  else io.out(lines.length ? `${lines.join('\n')}\n` : `nothing attached (${kind}) on ${dev}\n`);
  return 0;
}
