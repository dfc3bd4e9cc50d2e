// `bpfkit link list|show [id N | pinned PATH]`: BPF links as bpftool lists them, with tracing/cgroup details.
import { linkDetails, type LinkDetails } from '../kernel/attach/link-details.js';
import { fdById } from '../kernel/bpf/obj-id.js';
import type { Fd } from '../kernel/fd.js';
import { getPinnedObject } from '../kernel/bpf/obj-pin.js';
import { describeLink, type LinkRecord } from '../kernel/introspect/map-show.js';
import { ids } from '../kernel/bpf/obj-id.js';
import { KernelError } from '../kernel/kernel-error.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';
import { parseRef } from './prog.js';

/** Usage text of `link`. */
export const linkUsage = 'bpfkit link { list | show } [id ID | pinned PATH]';

/** A link record with its type-specific fields (tp_name, cgroup_id...), as `bpftool link show -j` prints them. */
export type LinkShowRecord = LinkRecord & LinkDetails;

/** Describes link `fd`: the common fields and the type-specific ones. */
export function describeLinkFull(fd: Fd<'link'>): LinkShowRecord {
  const base = describeLink(fd);
  const more = linkDetails(fd);
  return { ...base, ...more };
}

/** One link in bpftool's text layout (tracing, cgroup and perf links with bpftool's second line). */
export function linkText(l: LinkShowRecord): string {
  if (l.type === 'raw_tracepoint') return `${l.id}: ${l.type}  prog ${l.prog_id}  \n\ttp '${l.tp_name ?? ''}'  \n`;
  if (l.type === 'cgroup') return `${l.id}: ${l.type}  prog ${l.prog_id}  \n\tcgroup_id ${l.cgroup_id ?? 0}  attach_type ${l.attach_type ?? ''}  \n`;
  if (l.type === 'tracing') return `${l.id}: ${l.type}  prog ${l.prog_id}  \n\tattach_type ${l.attach_type ?? ''}  target_obj_id ${l.target_obj_id ?? 0}  target_btf_id ${l.target_btf_id ?? 0}  \n`;
  if (l.type === 'perf_event') {
    const what = l.event_type === 'tracepoint' ? `\n\ttracepoint ${l.tp_name ?? ''}  ` : l.func ? `\n\t${l.event_type ?? ''} ${l.func}  ` : '';
    return `${l.id}: ${l.type}  prog ${l.prog_id}  ${what}\n`;
  }
  let out = `${l.id}: ${l.type}  prog ${l.prog_id}`;
  if (l.ifindex !== undefined) out += `  ifindex ${l.ifindex}`;
  if (l.attach_type !== undefined) out += `  attach_type ${l.attach_type}`;
  return `${out}\n`;
}

/** Every link, in id order, with type-specific fields; links gone meanwhile are skipped. */
export function listLinksFull(sys: Sys): LinkShowRecord[] {
  const out: LinkShowRecord[] = [];
  for (const id of ids(sys, 'link')) {
    try {
      using fd = fdById(sys, 'link', id);
      out.push(describeLinkFull(fd));
    } catch (err) {
      if (err instanceof KernelError && err.errnoName === 'ENOENT') continue;
      throw err;
    }
  }
  return out;
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
    const rec = describeLinkFull(fd);
    io.out(args.json ? json(rec, args.pretty) : linkText(rec));
    return 0;
  }
  const all = listLinksFull(sys);
  io.out(args.json ? json(all, args.pretty) : all.map(linkText).join(''));
  return 0;
}
