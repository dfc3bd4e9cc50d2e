// `bpfkit attach tracepoint|raw_tp|kprobe|kretprobe|fentry|fexit|fmod_ret|cgroup OBJ [TARGET] --pin PATH`: tracing and cgroup links.
import { attachTypeByName, attachTypeName } from '../isa/attach-types.js';
import type { ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { AttachType, ProgType } from '../kernel/bpf/constants.js';
import { attachCgroup, cgroupHookProgramType } from '../kernel/attach/cgroup.js';
import { openKprobeEvent } from '../kernel/attach/perf-event.js';
import { FunctionNotFoundError } from '../kernel/attach/tracing-errors.js';
import { attachKprobe, attachRawTracepoint, attachTracepoint, attachTracing, tracingRefused, type TracingLink } from '../kernel/attach/tracing.js';
import { KernelError } from '../kernel/kernel-error.js';
import { loadKernelObject, type KernelObject } from '../kernel/object/load-object.js';
import { vmlinuxBtf } from '../kernel/object/vmlinux.js';
import type { Sys } from '../kernel/sys.js';
import type { CommandArgs } from './args.js';
import { UsageError } from './errors.js';
import { type Io, json } from './output.js';

/** The tracing and cgroup kinds `bpfkit attach` takes. */
export const TRACING_KINDS = ['tracepoint', 'raw_tp', 'kprobe', 'kretprobe', 'fentry', 'fexit', 'fmod_ret', 'cgroup'] as const;
/** One of {@link TRACING_KINDS}. */
export type TracingKind = (typeof TRACING_KINDS)[number];

/** Usage lines of the tracing kinds. */
export const attachTracingUsage = [
  '       bpfkit attach tracepoint OBJ [CATEGORY:NAME] --pin PATH [--prog NAME]',
  '       bpfkit attach raw_tp OBJ [NAME] --pin PATH [--prog NAME]',
  '       bpfkit attach kprobe|kretprobe OBJ [FUNC[+OFFSET]] --pin PATH [--prog NAME]',
  '       bpfkit attach fentry|fexit|fmod_ret OBJ [FUNC] --pin PATH [--prog NAME]',
  '       bpfkit attach cgroup OBJ CGROUP_DIR [--attach-type TYPE] --pin PATH [--prog NAME]',
  '       (TARGET defaults to the one in the section name: tracepoint/skb/kfree_skb, raw_tp/kfree_skb, kprobe/ip_rcv;',
  '        a tracing link lives while its fd is open, so --pin keeps it: remove the pin to detach)',
].join('\n');

const TYPES: Record<TracingKind, readonly number[]> = {
  tracepoint: [ProgType.TRACEPOINT],
  raw_tp: [ProgType.RAW_TRACEPOINT, ProgType.RAW_TRACEPOINT_WRITABLE],
  kprobe: [ProgType.KPROBE],
  kretprobe: [ProgType.KPROBE],
  fentry: [ProgType.TRACING],
  fexit: [ProgType.TRACING],
  fmod_ret: [ProgType.TRACING],
  cgroup: [ProgType.CGROUP_SKB, ProgType.CGROUP_SOCK, ProgType.CGROUP_SOCK_ADDR, ProgType.SOCK_OPS, ProgType.CGROUP_SOCKOPT, ProgType.CGROUP_SYSCTL, ProgType.CGROUP_DEVICE],
};

/** bpftool's `cgroup attach` names for attach types (`ingress`, `sock_create`, `connect4`...). */
const CGROUP_ALIASES: Record<string, number> = {
  ingress: AttachType.CGROUP_INET_INGRESS,
  egress: AttachType.CGROUP_INET_EGRESS,
  sock_create: AttachType.CGROUP_INET_SOCK_CREATE,
  sock_release: AttachType.CGROUP_INET_SOCK_RELEASE,
  sock_ops: AttachType.CGROUP_SOCK_OPS,
  device: AttachType.CGROUP_DEVICE,
  bind4: AttachType.CGROUP_INET4_BIND,
  bind6: AttachType.CGROUP_INET6_BIND,
  post_bind4: AttachType.CGROUP_INET4_POST_BIND,
  post_bind6: AttachType.CGROUP_INET6_POST_BIND,
  connect4: AttachType.CGROUP_INET4_CONNECT,
  connect6: AttachType.CGROUP_INET6_CONNECT,
  getpeername4: AttachType.CGROUP_INET4_GETPEERNAME,
  getpeername6: AttachType.CGROUP_INET6_GETPEERNAME,
  getsockname4: AttachType.CGROUP_INET4_GETSOCKNAME,
  getsockname6: AttachType.CGROUP_INET6_GETSOCKNAME,
  sendmsg4: AttachType.CGROUP_UDP4_SENDMSG,
  sendmsg6: AttachType.CGROUP_UDP6_SENDMSG,
  recvmsg4: AttachType.CGROUP_UDP4_RECVMSG,
  recvmsg6: AttachType.CGROUP_UDP6_RECVMSG,
  sysctl: AttachType.CGROUP_SYSCTL,
  getsockopt: AttachType.CGROUP_GETSOCKOPT,
  setsockopt: AttachType.CGROUP_SETSOCKOPT,
};

/** Parses `--attach-type` (bpftool's cgroup names or the kernel's, `cgroup_inet_ingress`). */
export function parseCgroupAttachType(text: string): number {
  const t = CGROUP_ALIASES[text] ?? attachTypeByName(text);
  if (t === undefined || cgroupHookProgramType(t) === undefined) {
    throw new UsageError(`--attach-type must be a cgroup hook (${Object.keys(CGROUP_ALIASES).join(', ')}), got '${text}'`, attachTracingUsage);
  }
  return t;
}

/** The program of a tracing kind: `--prog NAME`, or the object's only program of a fitting type. */
function pick(spec: ObjectSpec, name: string | undefined, kind: TracingKind): ProgramSpec {
  const types = TYPES[kind];
  if (name !== undefined) {
    const p = spec.programs.find((x) => x.name === name);
    if (!p) throw new UsageError(`no program '${name}' in the object (it has: ${spec.programs.map((x) => x.name).join(', ') || 'none'})`, attachTracingUsage);
    return p;
  }
  const fitting = spec.programs.filter((p) => types.includes(p.type));
  if (fitting.length === 1) return fitting[0] as ProgramSpec;
  if (fitting.length === 0) throw new UsageError(`the object has no ${kind} program (programs: ${spec.programs.map((p) => `${p.name} [${p.section}]`).join(', ') || 'none'})`, attachTracingUsage);
  throw new UsageError(`the object has several ${kind} programs (${fitting.map((p) => p.name).join(', ')}); choose one with --prog`, attachTracingUsage);
}

/** The target named on the command line, else the one in the section name (`tracepoint/skb/kfree_skb` -> `skb:kfree_skb`). */
function targetOf(kind: TracingKind, p: ProgramSpec, given: string | undefined): string {
  if (given !== undefined) return given;
  const from = p.attachTo;
  if (!from) throw new UsageError(`section "${p.section}" names no ${kind} target: give it after OBJ`, attachTracingUsage);
  return kind === 'tracepoint' ? from.replace('/', ':') : from;
}

/** Loads the chosen program; a tracing program the kernel refuses with EPERM is TracingRefusedError. */
function load(sys: Sys, spec: ObjectSpec, p: ProgramSpec, kind: TracingKind, target: string): KernelObject {
  let prog = p;
  if (kind === 'fentry' || kind === 'fexit' || kind === 'fmod_ret') {
    if (!vmlinuxBtf(sys).typesByName(target).some((t) => t.kind === 'func')) throw new FunctionNotFoundError(target, 'vmlinux BTF (/sys/kernel/btf/vmlinux)');
    prog = { ...p, attachTo: target };
  }
  const programs = spec.programs.map((x) => (x === p ? prog : x));
  try {
    return loadKernelObject(sys, { ...spec, programs }, { programs: [p.name] });
  } catch (err) {
    if (p.type === ProgType.TRACING && err instanceof KernelError && (err.errnoName === 'EPERM' || err.errnoName === 'EACCES')) throw tracingRefused(kind, target, err);
    throw err;
  }
}

/** `bpfkit attach <tracing kind> ...`: loads, attaches as a link, pins it, prints what was done. */
export function runAttachTracing(kind: TracingKind, args: CommandArgs, io: Io, sys: Sys, spec: ObjectSpec): number {
  const extra = args.rest(2);
  if (extra.length > 1) throw new UsageError(`unexpected argument '${extra[1]}'`, attachTracingUsage);
  const given = extra[0];
  const pin = args.value('pin');
  if (!pin) throw new UsageError(`a ${kind} link lives only while its fd is open: give --pin PATH (in a bpffs) to keep it after the command`, attachTracingUsage);
  if (kind === 'cgroup' && given === undefined) throw new UsageError('missing CGROUP_DIR (a cgroup v2 directory)', attachTracingUsage);
  if (args.value('attach-type') !== undefined && kind !== 'cgroup') throw new UsageError('--attach-type is for cgroup', attachTracingUsage);
  const p = pick(spec, args.value('prog'), kind);
  let cgroupType: number | undefined;
  if (kind === 'cgroup') {
    const fromFlag = args.value('attach-type');
    cgroupType = fromFlag !== undefined ? parseCgroupAttachType(fromFlag) : p.expectedAttachType;
    if (cgroupType === undefined || cgroupHookProgramType(cgroupType) === undefined) throw new UsageError(`section "${p.section}" names no cgroup hook: give --attach-type`, attachTracingUsage);
  }
  const target = kind === 'cgroup' ? (given as string) : targetOf(kind, p, given);
  if (kind === 'kprobe' || kind === 'kretprobe') {
    // Fail before loading when the kernel has no kprobes at all (nothing to undo then).
    const probe = openKprobeEvent(sys, { func: target.split('+')[0] as string, offset: Number(target.split('+')[1] ?? 0), retprobe: kind === 'kretprobe' });
    probe.fd.close();
    probe.cleanup();
  }
  using obj = load(sys, spec, p, kind, target);
  const prog = obj.program(p.name).fd;
  let link: TracingLink;
  switch (kind) {
    case 'tracepoint':
      link = attachTracepoint(sys, prog, target);
      break;
    case 'raw_tp':
      link = attachRawTracepoint(sys, prog, target);
      break;
    case 'kprobe':
    case 'kretprobe':
      link = attachKprobe(sys, prog, { func: target.split('+')[0] as string, offset: Number(target.split('+')[1] ?? 0), retprobe: kind === 'kretprobe' });
      break;
    case 'cgroup':
      link = attachCgroup(sys, prog, target, cgroupType as number);
      break;
    default:
      link = attachTracing(sys, prog, kind, target);
  }
  let out: Record<string, unknown>;
  try {
    link.pin(pin);
    out = { prog: p.name, prog_id: link.progId, link_id: link.linkId, kind, target, pinned: pin };
    if (cgroupType !== undefined) out['attach_type'] = attachTypeName(cgroupType);
  } catch (err) {
    link.detach();
    throw err;
  }
  link.release();
  if (args.json) io.out(json(out, args.pretty));
  else io.out(`attached ${p.name} (prog id ${String(out['prog_id'])}) to ${kind} ${target}${cgroupType !== undefined ? ` (${attachTypeName(cgroupType)})` : ''} via link ${String(out['link_id'])}, pinned at ${pin}\n`);
  return 0;
}
