// `bpfkit net [show|list] [--dev IFACE | dev IFACE] [-j]`: XDP and TC attachments, as `bpftool net` lists them.
import { fdById } from '../kernel/bpf/obj-id.js';
import { programInfo } from '../kernel/bpf/obj-info.js';
import { queryNet } from '../kernel/attach/net-query.js';
import { XDP_MODE_BPFTOOL } from '../kernel/attach/xdp.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';

/** Usage text of `net`. */
export const netUsage = 'bpfkit net [show|list] [--dev IFACE | dev IFACE] [--json|-j]';

/** Options of `net`. */
export const netOptions: OptionSpec = {
  dev: { type: 'string' },
};

/** An XDP entry of `net -j` (bpftool's fields). */
export interface NetXdpJson {
  devname: string;
  ifindex: number;
  mode: string;
  id: number;
  link_id?: number;
}

/** A TC entry of `net -j`: cls_bpf as bpftool prints it (name = filter name, id), TCX with prog_id/link_id. */
export interface NetTcJson {
  devname: string;
  ifindex: number;
  kind: string;
  name?: string;
  id?: number;
  prog_id?: number;
  link_id?: number;
}

/** `bpfkit net` on the real kernel. */
export function net(args: CommandArgs, io: Io): number {
  return runNet(args, io, createKernelSys());
}

function progName(sys: Sys, id: number): string | undefined {
  try {
    using fd = fdById(sys, 'prog', id);
    return programInfo(fd).name;
  } catch {
    return undefined; // unloaded meanwhile, or not visible
  }
}

/** `bpfkit net` with an injected Sys. */
export function runNet(args: CommandArgs, io: Io, sys: Sys): number {
  const rest = args.rest(0);
  let dev = args.value('dev');
  let i = 0;
  if (rest[i] === 'show' || rest[i] === 'list') i++;
  if (rest[i] === 'dev') {
    if (dev !== undefined) throw new UsageError('give the device once', netUsage);
    dev = rest[i + 1];
    if (dev === undefined) throw new UsageError('dev needs an interface name', netUsage);
    i += 2;
  }
  if (i < rest.length) throw new UsageError(`unexpected argument '${rest[i]}'`, netUsage);
  const found = queryNet(sys, dev);
  const xdp: NetXdpJson[] = found.xdp.map((x) => ({ devname: x.ifname, ifindex: x.ifindex, mode: XDP_MODE_BPFTOOL[x.mode], id: x.progId, ...(x.linkId ? { link_id: x.linkId } : {}) }));
  const tc: NetTcJson[] = found.tc.map((t) => {
    const base = { devname: t.ifname, ifindex: t.ifindex, kind: `${t.via}/${t.direction}` };
    if (t.via === 'clsact') return { ...base, name: t.name ?? '', id: t.progId };
    const name = progName(sys, t.progId);
    return { ...base, ...(name ? { name } : {}), prog_id: t.progId, link_id: t.linkId ?? 0 };
  });
  if (args.json) {
    io.out(json([{ xdp, tc }], args.pretty));
    return 0;
  }
  const xdpLines = xdp.map((x) => `${x.devname}(${x.ifindex}) ${x.mode} id ${x.id}${x.link_id ? ` link_id ${x.link_id}` : ''}\n`);
  const tcLines = tc.map((t) =>
    t.kind.startsWith('clsact') ? `${t.devname}(${t.ifindex}) ${t.kind} ${t.name} id ${t.id}\n` : `${t.devname}(${t.ifindex}) ${t.kind} ${t.name ?? ''} prog_id ${t.prog_id} link_id ${t.link_id}\n`,
  );
  io.out(`xdp:\n${xdpLines.join('')}\ntc:\n${tcLines.join('')}\n`);
  return 0;
}
