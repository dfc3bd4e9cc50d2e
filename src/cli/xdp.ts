// `bpfkit xdp SUBCOMMAND`: several XDP programs on one interface, in xdp-loader's grammar (load, unload, status, features).
import { applyProgramType } from '../elf/program-type.js';
import { resolveInterface } from '../kernel/attach/interface.js';
import { getXdpFeatures } from '../kernel/ethtool/xdp-features.js';
import { NetdevXdpAct } from '../kernel/ethtool/ethtool.generated.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { openRtnetlink } from '../kernel/netlink/rtnetlink.js';
import type { Sys } from '../kernel/sys.js';
import { XdpMultiProg, type XdpInterfaceStatus } from '../kernel/xdp-multi/xdp-multi-prog.js';
import { freplaceFeature } from '../kernel/xdp-multi/libxdp.js';
import { haveFeature } from '../kernel/feature-probe.js';
import { actionNames, parseActions, parsePriority, XdpRunConfigError } from '../runtime/xdp-run-config.js';
import { parseXdpMode } from './attach.js';
import type { CommandArgs, OptionSpec } from './args.js';
import { UsageError } from './errors.js';
import { FileReadError, readInput, readObject } from './load-file.js';
import { loadUserspace } from '../runtime/userspace-object.js';
import { runChainCapture, XdpChain, type XdpChainMember } from '../runtime/xdp-chain.js';
import { xdpRunConfig as runConfigOf } from '../runtime/xdp-run-config.js';
import { ProgType } from '../kernel/bpf/constants.js';
import { type Io, json } from './output.js';
import { xdpDumpSubcommand } from './xdp-dump.js';

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

const ifaceRef = (name: string): string | number => (/^\d+$/.test(name) ? Number(name) : name);

/** A --prio / --actions value turned into a usage error naming the flag. */
function option<T>(args: CommandArgs, name: string, parse: (text: string) => T, usage: string): T | undefined {
  const text = args.value(name);
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (err) {
    if (err instanceof XdpRunConfigError) throw new UsageError(`--${name}: ${err.message}`, usage);
    throw err;
  }
}

/** `bpfkit xdp load IFACE OBJ...`. */
function runLoad(args: CommandArgs, io: Io, sys: Sys): number {
  const usage = XDP_SUBCOMMANDS['load']!.usage;
  const iface = args.positional(1, 'IFACE', usage);
  const files = args.rest(2);
  if (files.length === 0) throw new UsageError('missing OBJ (one or more object files)', usage);
  const mode = parseXdpMode(args.value('mode'), usage);
  if (mode === 'hw') throw new UsageError('--mode hw: a dispatcher cannot be offloaded; use skb or native', usage);
  const priority = option(args, 'prio', parsePriority, usage);
  const chainCallActions = option(args, 'actions', parseActions, usage);
  const prog = args.value('prog');
  const programs = files.map((file) => {
    const given = readObject(file);
    // As xdp-loader: programs in sections libbpf cannot type load as XDP.
    const untyped = Object.fromEntries(given.programs.filter((p) => p.type === 0).map((p) => [p.name, 'xdp']));
    const spec = applyProgramType(given, untyped);
    return { spec, file, ...(prog !== undefined ? { program: prog } : {}), ...(priority !== undefined ? { priority } : {}), ...(chainCallActions !== undefined ? { chainCallActions } : {}) };
  });
  const multi = XdpMultiProg.open(sys, ifaceRef(iface));
  const loaded = multi.load(programs, mode ? { mode } : {});
  const st = multi.status();
  if (args.json) {
    io.out(json({ loaded: loaded.map((p) => ({ name: p.name, id: p.id, priority: p.priority, chain_call_actions: actionNames(p.chainCallActions) })), status: statusJson(st) }, args.pretty));
    return 0;
  }
  const lines = loaded.map((p) => `loaded ${p.name} (prog id ${p.id}, priority ${p.priority}, chain-call actions ${actionNames(p.chainCallActions).join(',')}) on ${st.ifname}\n`);
  if (st.kind === 'libxdp') {
    io.out(`${lines.join('')}${st.ifname}: libxdp dispatcher prog id ${st.progId ?? '?'} (protocol version ${st.libxdpVersion ?? '?'}) in ${st.mode ?? '?'} mode, ${st.programs.length} program(s): ${st.programs.map((p) => p.name).join(' -> ')}\n`);
    return 0;
  }
  const why = haveFeature(sys, freplaceFeature) ? '' : ' (this kernel refuses freplace, so not libxdp\'s)';
  io.out(`${lines.join('')}${st.ifname}: bpfkit dispatcher${why} prog id ${st.progId ?? '?'} in ${st.mode ?? '?'} mode (link ${st.linkId ?? '?'}), ${st.programs.length} program(s): ${st.programs.map((p) => p.name).join(' -> ')}\n`);
  return 0;
}

/** `bpfkit xdp unload IFACE (--id N | --all)`. */
function runUnload(args: CommandArgs, io: Io, sys: Sys): number {
  const usage = XDP_SUBCOMMANDS['unload']!.usage;
  const iface = args.positional(1, 'IFACE', usage);
  args.done(usage);
  const all = args.flag('all');
  const idText = args.value('id');
  if (all === (idText !== undefined)) throw new UsageError('give exactly one of --id N and --all', usage);
  if (idText !== undefined && !/^\d+$/.test(idText)) throw new UsageError(`--id must be a program id, got '${idText}'`, usage);
  const multi = XdpMultiProg.open(sys, ifaceRef(iface));
  const gone = all ? multi.unloadAll() : multi.unload(Number(idText));
  if (args.json) io.out(json({ unloaded: gone }, args.pretty));
  else io.out(gone.length ? gone.map((g) => `unloaded ${g.name} (prog id ${g.id}) from ${iface}\n`).join('') : `${iface}: no XDP program loaded\n`);
  return 0;
}

/** One interface's status in JSON (snake_case, bpftool style). */
function statusJson(s: XdpInterfaceStatus): Record<string, unknown> {
  return {
    ifname: s.ifname,
    ifindex: s.ifindex,
    kind: s.kind,
    mode: s.mode ?? null,
    prog_id: s.progId ?? null,
    prog_name: s.progName ?? null,
    link_id: s.linkId ?? null,
    ...(s.libxdpVersion !== undefined ? { libxdp_version: s.libxdpVersion } : {}),
    programs: s.programs.map((p) => ({
      position: p.position,
      slot: p.slot,
      name: p.name,
      id: p.id,
      tag: p.tag,
      priority: p.priority,
      chain_call_actions: p.actions,
      map_ids: p.mapIds,
      packets: p.stats.packets,
      verdicts: p.stats.verdicts,
      file: p.file ?? null,
    })),
  };
}

/** `bpfkit xdp status [IFACE]`: xdp-loader's table. */
function runStatus(args: CommandArgs, io: Io, sys: Sys): number {
  const usage = XDP_SUBCOMMANDS['status']!.usage;
  const iface = args.rest(1)[0];
  if (args.rest(1).length > 1) throw new UsageError(`unexpected argument '${args.rest(1)[1]}'`, usage);
  const all = iface === undefined ? XdpMultiProg.statusAll(sys) : [XdpMultiProg.open(sys, ifaceRef(iface)).status()];
  if (args.json) {
    io.out(json(all.map(statusJson), args.pretty));
    return 0;
  }
  const row = (c: string[]) => `${c[0]!.padEnd(17)}${c[1]!.padEnd(6)}${c[2]!.padEnd(18)}${c[3]!.padEnd(9)}${c[4]!.padEnd(8)}${c[5]!.padEnd(18)}${c[6]!}`.trimEnd();
  const out = ['CURRENT XDP PROGRAM STATUS:', '', row(['Interface', 'Prio', 'Program name', 'Mode', 'ID', 'Tag', 'Chain actions']), '-'.repeat(86)];
  for (const s of all) {
    if (s.kind === 'none') {
      out.push(row([s.ifname, '', '<No XDP program loaded!>', '', '', '', '']));
      continue;
    }
    const mode = s.mode ?? '';
    out.push(row([s.ifname, '', s.progName ?? '', mode, String(s.progId ?? ''), '', s.kind === 'bpfkit' ? '(bpfkit dispatcher)' : s.kind === 'libxdp' ? `(libxdp dispatcher v${s.libxdpVersion ?? '?'})` : '']));
    for (const p of s.programs) {
      out.push(row([' =>', String(p.priority), p.name, '', String(p.id), p.tag, p.actions.join(',')]));
    }
  }
  io.out(`${out.join('\n')}\n`);
  return 0;
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
    run: runLoad,
  },
  unload: {
    summary: 'unload programs from an interface (one by id, or all)',
    usage: 'bpfkit xdp unload IFACE (--id N | --all)',
    options: { id: { type: 'string', short: 'i' }, all: { type: 'boolean', short: 'a' } },
    run: runUnload,
  },
  status: {
    summary: 'list the XDP programs of every interface (or one), with priorities and chain-call actions',
    usage: 'bpfkit xdp status [IFACE] [-j]',
    options: {},
    run: runStatus,
  },
  features: {
    summary: "an interface's XDP features (netdev NETDEV_CMD_DEV_GET): actions, RX metadata, AF_XDP",
    usage: 'bpfkit xdp features IFACE [-j]',
    options: {},
    run: runFeatures,
  },
  dump: xdpDumpSubcommand,
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

/** The object files of `bpfkit run OBJ1 OBJ2 ... --pcap F` (two or more positionals ending in `.o`), or undefined for a one-object run. */
export function chainObjects(args: CommandArgs): string[] | undefined {
  const words = args.rest(0);
  const objs = words.filter((w) => w.endsWith('.o'));
  return objs.length >= 2 && objs.length === words.length ? objs : undefined;
}

/**
 * `bpfkit run OBJ1 OBJ2 ... --pcap F [--cpus N] [--prog NAME]`: the XDP programs run as a
 * dispatcher runs them (each object's `.xdp_run_config` priority and chain-call actions), with
 * per-program verdict counts and the chain's verdicts.
 */
export function runChain(files: readonly string[], args: CommandArgs, io: Io, usage: string): number {
  const pcap = args.value('pcap');
  if (pcap === undefined) throw new UsageError('missing --pcap IN', usage);
  const cpusText = args.value('cpus') ?? '1';
  const cpus = Number(cpusText);
  if (!/^[0-9]+$/.test(cpusText) || cpus < 1 || cpus > 1024) throw new UsageError(`--cpus must be an integer in 1..1024, got '${cpusText}'`, usage);
  const objects: Disposable[] = [];
  try {
    const members: XdpChainMember[] = files.map((file) => {
      const given = readObject(file, args.programType(usage));
      const untyped = Object.fromEntries(given.programs.filter((p) => p.type === 0).map((p) => [p.name, 'xdp']));
      const spec = applyProgramType(given, untyped);
      const wanted = args.value('prog');
      const xdpProgs = spec.programs.filter((p) => p.type === ProgType.XDP);
      const progSpec = wanted !== undefined ? spec.programs.find((p) => p.name === wanted) : xdpProgs.length === 1 ? xdpProgs[0] : undefined;
      if (!progSpec) throw new UsageError(`${file}: ${wanted !== undefined ? `no program '${wanted}'` : xdpProgs.length === 0 ? 'no XDP program' : 'several XDP programs; name one with --prog'} (programs: ${spec.programs.map((p) => p.name).join(', ') || 'none'})`, usage);
      const obj = loadUserspace(spec, { cpus, programs: [progSpec.name] });
      objects.push(obj);
      const program = obj.programs.get(progSpec.name);
      if (!program) throw new UsageError(`${file}: program '${progSpec.name}' cannot run in userspace (${obj.skipped.get(progSpec.name) ?? 'skipped'})`, usage);
      const rc = runConfigOf(spec, progSpec.name);
      return { program, name: progSpec.name, priority: rc.priority, chainCallActions: rc.chainCallActions };
    });
    const chain = new XdpChain(members);
    let bytes: Uint8Array;
    try {
      bytes = readInput(pcap);
    } catch (err) {
      throw err instanceof FileReadError ? err : new FileReadError(pcap, String((err as Error).message));
    }
    const r = runChainCapture(chain, bytes, { cpus });
    if (args.json) {
      io.out(json({ packets: r.packets, verdicts: r.verdicts, programs: r.programs.map((p) => ({ name: p.name, priority: p.priority, chain_call_actions: actionNames(p.chainCallActions), packets: p.packets, verdicts: p.verdicts })) }, args.pretty));
      return 0;
    }
    const lines = [`${r.packets} packets through ${r.programs.length} XDP programs (run order by priority, as a dispatcher):`];
    for (const p of r.programs) {
      lines.push(`  ${p.name} (priority ${p.priority}, chain-call actions ${actionNames(p.chainCallActions).join(',')}): ${p.packets} packets — ${p.verdicts.map((v) => `${v.verdict} ${v.packets}`).join(', ') || 'none'}`);
    }
    lines.push(`  chain verdicts: ${r.verdicts.map((v) => `${v.verdict} ${v.packets}`).join(', ') || 'none'}`);
    io.out(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    for (const o of objects) o[Symbol.dispose]();
  }
}
