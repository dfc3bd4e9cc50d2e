// `bpfkit detach xdp|tc --dev IFACE ...`: remove what is attached (links pinned or not, netlink, filters).
import { existsSync, unlinkSync } from 'node:fs';
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
  // A pinned link is now defunct; its pin is only a name. Remove it when asked.
  let unpinned = false;
  if (pin && existsSync(pin)) {
    unlinkSync(pin);
    unpinned = true;
    lines.push(`removed pin ${pin}`);
  }
  if (args.json) io.out(json({ detached: removed, ...(pin ? { unpinned } : {}) }, args.pretty));
  else io.out(lines.length ? `${lines.join('\n')}\n` : `nothing attached (${kind}) on ${dev}\n`);
  return 0;
}
