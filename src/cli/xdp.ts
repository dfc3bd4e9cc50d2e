// `bpfkit xdp SUBCOMMAND`: several XDP programs on one interface, in xdp-loader's grammar (load, unload, status, features).
import { BpfkitError } from '../errors.js';
import { resolveInterface } from '../kernel/attach/interface.js';
import { getXdpFeatures } from '../kernel/ethtool/xdp-features.js';
import { NetdevXdpAct } from '../kernel/ethtool/ethtool.generated.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { openRtnetlink } from '../kernel/netlink/rtnetlink.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';

/** One `bpfkit xdp` subcommand: its usage line, its options, and what it does. */
export interface XdpSubcommand {
  /** One line: what it does. */
  readonly summary: string;
  /** Its usage, starting with `bpfkit xdp NAME`. */
  readonly usage: string;
  /** Options it takes (merged into the `xdp` command's options; names shared between subcommands must agree). */
  readonly options: OptionSpec;
  /** Runs it; `args` positional 0 is the subcommand's name. */
  readonly run: (args: CommandArgs, io: Io, sys: Sys) => number | Promise<number>;
}

/** `bpfkit xdp features IFACE`: the netdev family's XDP features of a device. */
function runFeatures(args: CommandArgs, io: Io, sys: Sys): number {
  const usage = XDP_SUBCOMMANDS['features']!.usage;
  const name = args.positional(1, 'IFACE', usage);
  args.done(usage);
  let ifindex: number;
  let ifname: string;
  {
    using sock = openRtnetlink(sys);
    const dev = resolveInterface(sock, /^\d+$/.test(name) ? Number(name) : name);
    ifindex = dev.ifindex;
    ifname = dev.name;
  }
  const f = getXdpFeatures(sys, ifindex);
  if (args.json) {
    const out = { ifname, ifindex, xdp_features: f.names, xdp_features_flags: f.flags, xdp_rx_metadata_features: f.rxMetadata, xsk_features: f.xsk, xdp_zc_max_segs: f.zcMaxSegs ?? null };
    io.out(json(out, args.pretty));
    return 0;
  }
  // xdp-loader's layout: one NETDEV_XDP_ACT_* line per bit, yes/no.
  const lines = Object.entries(NetdevXdpAct)
    .filter(([k]) => k !== 'MASK')
    .map(([k, bit]) => `${`NETDEV_XDP_ACT_${k}:`.padEnd(32)}${(f.flags & bit) !== 0 ? 'yes' : 'no'}`);
  const extra = [
    `${'XDP_RX_METADATA:'.padEnd(32)}${f.rxMetadata.join(' ') || 'none'}`,
    `${'XSK_FEATURES:'.padEnd(32)}${f.xsk.join(' ') || 'none'}`,
  ];
  if (f.zcMaxSegs !== undefined) extra.push(`${'XDP_ZC_MAX_SEGS:'.padEnd(32)}${f.zcMaxSegs}`);
  io.out(`${ifname} (ifindex ${ifindex})\n${[...lines, ...extra].join('\n')}\n`);
  return 0;
}

/** Placeholder for subcommands whose library lands next (src/kernel/xdp-multi). */
function notYet(name: string): XdpSubcommand['run'] {
  return () => {
    throw new BpfkitError('ERR_NOT_IMPLEMENTED', `bpfkit xdp ${name} is not available in this build yet`);
  };
}

/**
 * The subcommands of `bpfkit xdp`, by name. Other modules add theirs with one line
 * (`dump: xdpDumpSubcommand`); `bpfkit xdp --help` lists them all.
 */
export const XDP_SUBCOMMANDS: Record<string, XdpSubcommand> = {
  load: {
    summary: 'load programs onto an interface through a multi-program dispatcher',
    usage: 'bpfkit xdp load IFACE OBJ... [--mode skb|native] [--prog NAME] [--prio N] [--actions pass,drop,...]',
    options: { mode: { type: 'string', short: 'm' }, prog: { type: 'string', short: 'n' }, prio: { type: 'string', short: 'P' }, actions: { type: 'string', short: 'A' } },
    run: notYet('load'),
  },
  unload: {
    summary: 'unload programs from an interface (one by id, or all)',
    usage: 'bpfkit xdp unload IFACE (--id N | --all)',
    options: { id: { type: 'string', short: 'i' }, all: { type: 'boolean', short: 'a' } },
    run: notYet('unload'),
  },
  status: {
    summary: 'list the XDP programs of every interface (or one), with priorities and chain-call actions',
    usage: 'bpfkit xdp status [IFACE] [-j]',
    options: {},
    run: notYet('status'),
  },
  features: {
    summary: "an interface's XDP features (netdev NETDEV_CMD_DEV_GET): actions, RX metadata, AF_XDP",
    usage: 'bpfkit xdp features IFACE [-j]',
    options: {},
    run: runFeatures,
  },
};

/** Usage of `bpfkit xdp`: one line per subcommand. */
export const xdpUsage = Object.values(XDP_SUBCOMMANDS)
  .map((s, i) => `${i === 0 ? '' : '       '}${s.usage}`)
  .join('\n');

/** Options of `bpfkit xdp`: the union of its subcommands'. */
export const xdpOptions: OptionSpec = Object.assign({}, ...Object.values(XDP_SUBCOMMANDS).map((s) => s.options)) as OptionSpec;

/** `bpfkit xdp ...` on the real kernel. */
export function xdp(args: CommandArgs, io: Io): number | Promise<number> {
  return runXdp(args, io, createKernelSys());
}

/** `bpfkit xdp ...` with an injected Sys. */
export function runXdp(args: CommandArgs, io: Io, sys: Sys): number | Promise<number> {
  const name = args.positional(0, `a subcommand (${Object.keys(XDP_SUBCOMMANDS).join(', ')})`, xdpUsage);
  const sub = XDP_SUBCOMMANDS[name];
  if (!sub) throw new UsageError(`unknown xdp subcommand '${name}' (expected ${Object.keys(XDP_SUBCOMMANDS).join(', ')})`, xdpUsage);
  return sub.run(args, io, sys);
}
