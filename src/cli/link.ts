// `bpfkit link list|show [id N | pinned PATH]`: BPF links as bpftool lists them.
import { fdById } from '../kernel/bpf/obj-id.js';
import { getPinnedObject } from '../kernel/bpf/obj-pin.js';
import { describeLink, listLinks, type LinkRecord } from '../kernel/introspect/map-show.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';
import { parseRef } from './prog.js';

/** Usage text of `link`. */
export const linkUsage = 'bpfkit link { list | show } [id ID | pinned PATH]';

/** One link in bpftool's text layout. */
export function linkText(l: LinkRecord): string {
  let out = `${l.id}: ${l.type}  prog ${l.prog_id}`;
  if (l.ifindex !== undefined) out += `  ifindex ${l.ifindex}`;
  if (l.attach_type !== undefined) out += `  attach_type ${l.attach_type}`;
  return `${out}\n`;
}

/** `bpfkit link ...` on the real kernel. */
export function link(args: CommandArgs, io: Io): number {
  return runLink(args, io, createKernelSys());
}

/** `bpfkit link ...` with an injected Sys. */
export function runLink(args: CommandArgs, io: Io, sys: Sys): number {
  const words = args.rest(0);
  const verb = words[0] ?? 'list';
  if (verb !== 'list' && verb !== 'show') throw new UsageError(`unknown link command '${verb}'`, linkUsage);
  if (words.length > 1) {
    const { ref, next } = parseRef(words, 1, linkUsage, ['id', 'pinned']);
    if (next !== words.length) throw new UsageError(`unexpected argument '${words[next]}'`, linkUsage);
    using fd = ref.by === 'id' ? fdById(sys, 'link', ref.id) : getPinnedObject(sys, ref.by === 'pinned' ? ref.value : '', 'link');
    const rec = describeLink(fd);
    io.out(args.json ? json(rec, args.pretty) : linkText(rec));
    return 0;
  }
  const all = listLinks(sys);
  io.out(args.json ? json(all, args.pretty) : all.map(linkText).join(''));
  return 0;
}
