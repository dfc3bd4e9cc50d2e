// `bpfkit attach xdp|tc OBJ --dev IFACE ...` (and tracing/cgroup kinds): load one program of an object and attach it so it outlives the command.
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { BpfkitError } from '../errors.js';
import { ProgType } from '../kernel/bpf/constants.js';
import { pinObject } from '../kernel/bpf/obj-pin.js';
import { attachTc, type TcAttachment, type TcDirection } from '../kernel/attach/tc.js';
import { attachXdp, XDP_MODE_BPFTOOL, type XdpAttachment, type XdpMode } from '../kernel/attach/xdp.js';
import { createKernelSys } from '../kernel/koffi-sys.js';
import { loadKernelObject, type KernelObject } from '../kernel/object/load-object.js';
import type { Sys } from '../kernel/sys.js';
import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';
import { applyProgramType } from '../elf/program-type.js';
import { UsageError } from './errors.js';
import { readObject } from './load-file.js';
import { type Io, json } from './output.js';
import { attachTracingUsage, runAttachTracing, TRACING_KINDS, type TracingKind } from './attach-tracing.js';

/** Usage text of `attach`. */
export const attachUsage = [
  'bpfkit attach xdp OBJ --dev IFACE [--prog NAME] [--type TYPE] [--mode skb|native|hw] [--pin PATH] [--replace] [--pin-maps DIR]',
  '       bpfkit attach tc OBJ --dev IFACE [--direction ingress|egress] [--prog NAME] [--type TYPE] [--classic] [--pin PATH] [--pin-maps DIR]',
  '       (--direction defaults to the one in the section name: tcx/ingress, tc/egress...;',
  '        programs in sections libbpf cannot type load as xdp / sched_cls, as xdp-loader and tc do)',
  attachTracingUsage,
].join('\n');

/** Options of `attach`. */
export const attachOptions: OptionSpec = {
  dev: { type: 'string' },
  prog: { type: 'string' },
  mode: { type: 'string' },
  pin: { type: 'string' },
  replace: { type: 'boolean' },
  direction: { type: 'string' },
  classic: { type: 'boolean' },
  'pin-maps': { type: 'string' },
  'attach-type': { type: 'string' },
  ...TYPE_OPTION,
};

/** `bpfkit attach ...` on the real kernel. */
export function attach(args: CommandArgs, io: Io): number {
  return runAttach(args, io, createKernelSys());
}

const XDP_MODES: readonly XdpMode[] = ['skb', 'native', 'hw'];

/** Parses `--mode` as xdp-loader spells it (also bpftool's generic/driver/offload). */
export function parseXdpMode(text: string | undefined, usage: string): XdpMode | undefined {
  if (text === undefined) return undefined;
  const alias: Record<string, XdpMode> = { generic: 'skb', driver: 'native', drv: 'native', offload: 'hw' };
  const mode = (XDP_MODES as readonly string[]).includes(text) ? (text as XdpMode) : alias[text];
  if (!mode) throw new UsageError(`--mode must be skb, native or hw, got '${text}'`, usage);
  return mode;
}

/** Parses `--direction`. */
export function parseDirection(text: string | undefined, usage: string): TcDirection {
  if (text === 'ingress' || text === 'egress') return text;
  throw new UsageError(text === undefined ? 'missing --direction ingress|egress' : `--direction must be ingress or egress, got '${text}'`, usage);
}

/** The program to attach: `--prog NAME`, or the object's only program of a fitting type. */
function pickProgram(spec: ObjectSpec, name: string | undefined, types: readonly number[], what: string): ProgramSpec {
  if (name !== undefined) {
    const p = spec.programs.find((x) => x.name === name);
    if (!p) throw new UsageError(`no program '${name}' in the object (it has: ${spec.programs.map((x) => x.name).join(', ') || 'none'})`, attachUsage);
    return p;
  }
  const fitting = spec.programs.filter((p) => types.includes(p.type));
  if (fitting.length === 1) return fitting[0] as ProgramSpec;
  if (fitting.length === 0) throw new UsageError(`the object has no ${what} program (programs: ${spec.programs.map((p) => `${p.name} [${p.section}]`).join(', ') || 'none'})`, attachUsage);
  throw new UsageError(`the object has several ${what} programs (${fitting.map((p) => p.name).join(', ')}); choose one with --prog`, attachUsage);
}

const BPF_FS_MAGIC = 0xcafe4a11;

/** A pin path outside a mounted bpffs (e.g. under `ip netns exec`, which remounts /sys without it). */
export class NotBpffsError extends BpfkitError {
  constructor(readonly path: string) {
    super('ERR_NOT_BPFFS', `${path} is not inside a mounted bpffs (mount -t bpf bpf /sys/fs/bpf; note that \`ip netns exec\` remounts /sys without it — use \`nsenter --net=/run/netns/NAME\`)`);
  }
}

/**
 * Makes sure directory `dir` exists inside a bpffs, creating missing levels one at a time
 * (Node's recursive mkdir spins forever on sysfs, where /sys/fs/bpf is a plain directory when
 * bpffs is not mounted).
 */
export function ensureBpffsDir(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  while (!existsSync(at)) {
    missing.unshift(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  if (statfsSync(at).type !== BPF_FS_MAGIC) throw new NotBpffsError(dir);
  for (const d of missing) mkdirSync(d);
}

function pinMaps(obj: KernelObject, dir: string): string[] {
  ensureBpffsDir(dir);
  const made: string[] = [];
  for (const [name, m] of obj.maps) {
    if (obj.report.pinned.has(name) || obj.report.reusedPins.includes(name)) continue;
    const path = `${dir}/${name.replace(/^\./, '')}`;
    pinObject(m.fd, path);
    made.push(path);
  }
  return made;
}

/** `bpfkit attach ...` with an injected Sys. */
export function runAttach(args: CommandArgs, io: Io, sys: Sys): number {
  const kind = args.positional(0, 'what to attach (xdp, tc, tracepoint, raw_tp, kprobe, kretprobe, fentry, fexit, fmod_ret or cgroup)', attachUsage);
  if ((TRACING_KINDS as readonly string[]).includes(kind)) {
    const file = args.positional(1, 'OBJ', attachUsage);
    for (const o of ['dev', 'mode', 'direction', 'pin-maps']) if (args.value(o) !== undefined) throw new UsageError(`--${o} is for xdp and tc`, attachUsage);
    if (args.flag('replace') || args.flag('classic')) throw new UsageError('--replace and --classic are for xdp and tc', attachUsage);
    if (args.value('pin')) ensureBpffsDir(dirname(args.value('pin') as string));
    return runAttachTracing(kind as TracingKind, args, io, sys, readObject(file, args.programType(attachUsage)));
  }
  if (kind !== 'xdp' && kind !== 'tc') throw new UsageError(`attach what? expected xdp, tc, ${TRACING_KINDS.join(', ')}; got '${kind}'`, attachUsage);
  if (args.value('attach-type') !== undefined) throw new UsageError('--attach-type is for cgroup', attachUsage);
  const file = args.positional(1, 'OBJ', attachUsage);
  args.done(attachUsage);
  const dev = args.value('dev');
  if (!dev) throw new UsageError('missing --dev IFACE', attachUsage);
  const pin = args.value('pin');
  const mode = kind === 'xdp' ? parseXdpMode(args.value('mode'), attachUsage) : undefined;
  const direction = kind === 'tc' && args.value('direction') !== undefined ? parseDirection(args.value('direction'), attachUsage) : undefined;
  if (kind === 'xdp' && (args.value('direction') || args.flag('classic'))) throw new UsageError('--direction and --classic are for tc', attachUsage);
  if (kind === 'tc' && (args.value('mode') || args.flag('replace'))) throw new UsageError('--mode and --replace are for xdp', attachUsage);
  if (kind === 'tc' && args.flag('classic') && pin) throw new UsageError('--pin needs a link; a --classic cls_bpf filter stays until detached without one', attachUsage);

  if (pin) ensureBpffsDir(dirname(pin));
  if (args.value('pin-maps')) ensureBpffsDir(args.value('pin-maps') as string);
  const given = readObject(file, args.programType(attachUsage));
  // xdp-loader and `ip link ... xdp obj` load any section as XDP, `tc filter ... bpf obj` as
  // sched_cls: untyped programs (SEC("xdp_prog")) get the type the attachment needs.
  const untyped = Object.fromEntries(given.programs.filter((p) => p.type === 0).map((p) => [p.name, kind === 'xdp' ? 'xdp' : 'sched_cls']));
  const spec = applyProgramType(given, untyped);
  const types = kind === 'xdp' ? [ProgType.XDP] : [ProgType.SCHED_CLS, ProgType.SCHED_ACT];
  const progSpec = pickProgram(spec, args.value('prog'), types, kind === 'xdp' ? 'XDP' : 'TC (sched_cls)');
  // libbpf's section names carry a direction (tcx/ingress, tc/egress); plain `tc` does not.
  const fromSection = /^(?:tcx|tc)\/(ingress|egress)$/.exec(progSpec.section)?.[1] as TcDirection | undefined;
  const dir = kind === 'tc' ? (direction ?? fromSection ?? parseDirection(undefined, attachUsage)) : undefined;
  using obj = loadKernelObject(sys, spec, { programs: [progSpec.name] });
  const prog = obj.program(progSpec.name);
  const pinnedMaps = args.value('pin-maps') ? pinMaps(obj, args.value('pin-maps') as string) : [];

  let out: Record<string, unknown>;
  let text: string;
  if (kind === 'xdp') {
    // With --pin: a bpf_link kept by its pin. Without: netlink, which stays until detached.
    const att: XdpAttachment = attachXdp(sys, prog.fd, dev, { mode, replace: args.flag('replace'), link: pin !== undefined ? true : false });
    try {
      if (pin) att.pin(pin);
      out = { prog: progSpec.name, prog_id: att.progId, devname: att.ifname, ifindex: att.ifindex, mode: XDP_MODE_BPFTOOL[att.mode], via: att.via };
      if (att.linkId !== undefined) out['link_id'] = att.linkId;
      text = `attached ${progSpec.name} (prog id ${att.progId}) to ${att.ifname} (ifindex ${att.ifindex}) as xdp in ${att.mode} mode via ${att.via === 'link' ? `link ${att.linkId ?? '?'}` : 'netlink'}`;
    } catch (err) {
      att.detach();
      throw err;
    }
    att.release();
  } else {

    const classic = args.flag('classic');
    const att: TcAttachment = attachTc(sys, prog.fd, dev, { direction: dir as TcDirection, classic, link: classic ? undefined : pin !== undefined, name: classic ? `${file.replace(/.*\//, '')}:[${progSpec.section}]` : undefined });
    try {
      if (pin) att.pin(pin);
      const kindName = `${att.via}/${att.direction}`;
      out = { prog: progSpec.name, prog_id: att.progId, devname: att.ifname, ifindex: att.ifindex, kind: kindName };
      if (att.linkId !== undefined) out['link_id'] = att.linkId;
      if (att.filter) Object.assign(out, { pref: att.filter.priority, handle: att.filter.handle });
      const how = att.filter ? `cls_bpf filter pref ${att.filter.priority} handle ${att.filter.handle}` : att.link ? `link ${att.linkId ?? '?'}` : 'BPF_PROG_ATTACH (no link)';
      text = `attached ${progSpec.name} (prog id ${att.progId}) to ${att.ifname} (ifindex ${att.ifindex}) as ${kindName} via ${how}`;
    } catch (err) {
      att.detach();
      throw err;
    }
    att.release();
  }
  if (pin) {
    out['pinned'] = pin;
    text += `, pinned at ${pin}`;
  }
  if (pinnedMaps.length) out['pinned_maps'] = pinnedMaps;
  if (args.json) io.out(json(out, args.pretty));
  else io.out(`${text}\n${pinnedMaps.map((p) => `map pinned at ${p}\n`).join('')}`);
  return 0;
}
