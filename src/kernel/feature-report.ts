// The whole feature report `bpftool feature probe kernel` gives: program/map types, helpers per type, misc features, system config.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { release } from 'node:os';
import { BtfBuilder } from '../btf/builder.js';
import { BpfFuncId, BpfMapType, BpfProgType } from '../isa/uapi.generated.js';
import { AttachType, MapType, ProgType } from './bpf/constants.js';
import { loadBtf } from './bpf/btf-load.js';
import { createMap } from './bpf/map-create.js';
import { loadProgram } from './bpf/prog-load.js';
import { Errno } from './errno.js';
import { isErrno } from './kernel-error.js';
import { probeHelper } from './feature-probe.js';
import type { Fd } from './fd.js';
import type { Sys } from './sys.js';
import { VerifierError } from './verifier-error.js';

/** Whether a program type may call each helper; `undefined` where the kernel cannot be asked (tracing, ext, lsm, struct_ops) or the type is absent. */
export interface HelperSupport {
  /** Helper names (`bpf_map_lookup_elem`) the type may call, in id order. */
  readonly available: readonly string[];
  /** Why the list is empty without asking: `'type'` (program type not supported), `'unknown'` (cannot be probed). */
  readonly skipped?: 'type' | 'unknown';
}

/** What `feature probe kernel` finds, keyed as bpftool's JSON. */
export interface FeatureReport {
  /** Sysctls (`unprivileged_bpf_disabled`: 2...) and CONFIG_ options (`'y'`, `'m'`, a value, or null). */
  readonly systemConfig: Readonly<Record<string, number | string | null>>;
  /** `have_<type>_prog_type` for each program type. */
  readonly programTypes: Readonly<Record<string, boolean>>;
  /** `have_<type>_map_type` for each map type. */
  readonly mapTypes: Readonly<Record<string, boolean>>;
  /** Helpers per program type name. */
  readonly helpers: Readonly<Record<string, HelperSupport>>;
  /** `have_large_insn_limit`, `have_bounded_loops`, `have_v2_isa_extension`, `have_v3_isa_extension`. */
  readonly misc: Readonly<Record<string, boolean>>;
}

const RET0_EXIT = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const ENOTSUPP = 524;
const BPF_F_SLEEPABLE = 1 << 4;
const BPF_F_NO_PREALLOC = 1;
const BPF_F_MMAPABLE = 1 << 10;

/** Program types in enum order with their lower-case names (`socket_filter`...), unspec left out. */
export function programTypeNames(): [string, number][] {
  return Object.entries(BpfProgType).filter(([, v]) => v !== 0).map(([k, v]) => [k.toLowerCase(), v]);
}

/** Map types in enum order, deprecated aliases left out. */
export function mapTypeNames(): [string, number][] {
  const seen = new Set<number>();
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(BpfMapType)) {
    if (v === 0 || k.endsWith('_DEPRECATED') || seen.has(v)) continue;
    seen.add(v);
    out.push([k.toLowerCase(), v]);
  }
  return out;
}

/** Load attributes libbpf's probe_prog_load gives a type, and the answer that means "known" where a load cannot succeed. */
interface ProgProbe {
  readonly expectedAttachType?: number;
  readonly flags?: number;
  readonly attachBtfId?: number;
  /** The load must fail with this errno, and the log contain `expMsg` (types that need a target). */
  readonly expErrno?: number;
  readonly expMsg?: string;
  /** Helpers cannot be probed for this type. */
  readonly noHelpers?: boolean;
}

function progProbe(type: number): ProgProbe {
  switch (type) {
    case ProgType.CGROUP_SOCK_ADDR:
      return { expectedAttachType: AttachType.CGROUP_INET4_CONNECT };
    case ProgType.CGROUP_SOCKOPT:
      return { expectedAttachType: AttachType.CGROUP_GETSOCKOPT };
    case ProgType.SK_LOOKUP:
      return { expectedAttachType: AttachType.SK_LOOKUP };
    case ProgType.LIRC_MODE2:
      return { expectedAttachType: AttachType.LIRC_MODE2 };
    case ProgType.TRACING:
      return { expectedAttachType: AttachType.TRACE_FENTRY, attachBtfId: 1, expErrno: Errno.EINVAL, expMsg: 'attach_btf_id 1 is not a function', noHelpers: true };
    case ProgType.LSM:
      return { expectedAttachType: AttachType.MODIFY_RETURN, attachBtfId: 1, expErrno: Errno.EINVAL, expMsg: 'attach_btf_id 1 is not a function', noHelpers: true };
    case ProgType.EXT:
      return { attachBtfId: 1, expErrno: Errno.EINVAL, expMsg: 'Cannot replace kernel functions', noHelpers: true };
    case ProgType.SYSCALL:
      return { flags: BPF_F_SLEEPABLE };
    case ProgType.STRUCT_OPS:
      return { expErrno: ENOTSUPP, noHelpers: true };
    case ProgType.NETFILTER:
      return { expectedAttachType: AttachType.NETFILTER };
    default:
      return {};
  }
}

/** The errno of a failed load, or undefined for success / a verifier rejection. */
function errnoOf(err: unknown): number | undefined {
  const e = err as { errno?: unknown };
  return typeof e.errno === 'number' ? e.errno : undefined;
}

function tryLoad(sys: Sys, type: number, insns: Uint8Array, p: ProgProbe, logLevel = 0): { ok: boolean; err?: unknown; log: string } {
  try {
    loadProgram(sys, {
      type,
      insns,
      license: 'GPL',
      ...(p.expectedAttachType !== undefined ? { expectedAttachType: p.expectedAttachType } : {}),
      ...(p.flags !== undefined ? { flags: p.flags } : {}),
      ...(p.attachBtfId !== undefined ? { attachBtfId: p.attachBtfId } : {}),
      ...(logLevel ? { logLevel } : {}),
    }).close();
    return { ok: true, log: '' };
  } catch (err) {
    if (isErrno(err, Errno.EPERM) && type === ProgType.SOCKET_FILTER) throw err; // no privilege at all: not an answer
    return { ok: false, err, log: err instanceof VerifierError ? err.log : '' };
  }
}

/** libbpf_probe_bpf_prog_type: loads `r0 = 0; exit` as `type` (with what the type needs). */
export function probeProgramType(sys: Sys, type: number): boolean {
  const p = progProbe(type);
  const r = tryLoad(sys, type, RET0_EXIT, p, p.expMsg ? 1 : 0);
  if (p.expErrno !== undefined) {
    if (r.ok) return false;
    const errno = r.err instanceof VerifierError ? Errno.EINVAL : errnoOf(r.err);
    if (errno !== p.expErrno) return false;
    return p.expMsg === undefined || r.log.includes(p.expMsg) || String((r.err as Error).message).includes(p.expMsg);
  }
  return r.ok;
}

let localStorageBtf: Uint8Array | undefined;

/** libbpf's load_local_storage_btf: `int`, `struct bpf_spin_lock { int val; }`, `struct val { int cnt; struct bpf_spin_lock l; }`. */
function storageBtf(): Uint8Array {
  if (!localStorageBtf) {
    const b = new BtfBuilder();
    const int = b.add({ kind: 'int', name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
    const lock = b.add({ kind: 'struct', name: 'bpf_spin_lock', size: 4, kindFlag: false, members: [{ name: 'val', type: int, bitOffset: 0, bitfieldSize: 0 }] });
    b.add({ kind: 'struct', name: 'val', size: 8, kindFlag: false, members: [{ name: 'cnt', type: int, bitOffset: 0, bitfieldSize: 0 }, { name: 'l', type: lock, bitOffset: 32, bitfieldSize: 0 }] });
    localStorageBtf = b.encode();
  }
  return localStorageBtf;
}

/** libbpf_probe_bpf_map_type: creates a small map of `type` with the attributes the type needs. */
export function probeMapType(sys: Sys, type: number): boolean {
  let keySize = 4;
  let valueSize = 4;
  let maxEntries = 1;
  let flags = 0;
  let expErrno: number | undefined;
  let btfKeyTypeId: number | undefined;
  let btfValueTypeId: number | undefined;
  let btfVmlinuxValueTypeId: number | undefined;
  const held: Fd[] = [];
  let btf: Fd<'btf'> | undefined;
  let innerMap: Fd<'map'> | undefined;
  try {
    switch (type) {
      case MapType.STACK_TRACE:
        valueSize = 8;
        break;
      case MapType.LPM_TRIE:
        keySize = 8;
        valueSize = 8;
        flags = BPF_F_NO_PREALLOC;
        break;
      case MapType.CGROUP_STORAGE:
      case MapType.PERCPU_CGROUP_STORAGE:
        keySize = 16; // struct bpf_cgroup_storage_key { __u64 cgroup_inode_id; __u32 attach_type; }
        valueSize = 8;
        maxEntries = 0;
        break;
      case MapType.QUEUE:
      case MapType.STACK:
        keySize = 0;
        break;
      case MapType.SK_STORAGE:
      case MapType.INODE_STORAGE:
      case MapType.TASK_STORAGE:
      case MapType.CGRP_STORAGE:
        btfKeyTypeId = 1;
        btfValueTypeId = 3;
        valueSize = 8;
        maxEntries = 0;
        flags = BPF_F_NO_PREALLOC;
        btf = loadBtf(sys, storageBtf());
        held.push(btf);
        break;
      case MapType.RINGBUF:
      case MapType.USER_RINGBUF:
        keySize = 0;
        valueSize = 0;
        maxEntries = 4096;
        break;
      case MapType.STRUCT_OPS:
        btfVmlinuxValueTypeId = 1;
        expErrno = ENOTSUPP;
        break;
      case MapType.BLOOM_FILTER:
        keySize = 0;
        break;
      case MapType.ARENA:
        keySize = 0;
        valueSize = 0;
        flags = BPF_F_MMAPABLE;
        break;
      case MapType.ARRAY_OF_MAPS:
      case MapType.HASH_OF_MAPS:
        innerMap = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
        held.push(innerMap);
        break;
      default:
        break;
    }
    try {
      createMap(sys, {
        type,
        keySize,
        valueSize,
        maxEntries,
        flags,
        ...(btf ? { btf, btfKeyTypeId, btfValueTypeId } : {}),
        ...(btfVmlinuxValueTypeId !== undefined ? { btfVmlinuxValueTypeId } : {}),
        ...(innerMap ? { innerMap } : {}),
      }).close();
      return expErrno === undefined;
    } catch (err) {
      if (expErrno !== undefined) return errnoOf(err) === expErrno;
      if (isErrno(err, Errno.EPERM) && type === MapType.HASH) throw err;
      return false;
    }
  } finally {
    for (const fd of held) fd.close();
  }
}

/**
 * libbpf_probe_bpf_helper for types that need load attributes (expected attach type, sleepable):
 * `call id; exit`, available unless the verifier says the type cannot use it or does not know it.
 */
function probeHelperWith(sys: Sys, type: number, helperId: number, p: ProgProbe): boolean {
  const insns = new Uint8Array(16);
  insns[0] = 0x85;
  new DataView(insns.buffer).setInt32(4, helperId, true);
  insns[8] = 0x95;
  const r = tryLoad(sys, type, insns, p, 1);
  if (r.ok) return true;
  if (!(r.err instanceof VerifierError)) throw r.err;
  return !/cannot use helper|invalid func |unknown func /.test(r.log);
}

/** Helper names by id (`bpf_` + the uapi name), in id order. */
export function helperNames(): [string, number][] {
  return Object.entries(BpfFuncId).filter(([, v]) => v !== 0).map(([k, v]) => [`bpf_${k}`, v]);
}

/** Helpers bpftool leaves out unless asked for `full` (they write to the kernel log or to user memory). */
export const NOISY_HELPERS: ReadonlySet<string> = new Set(['bpf_trace_printk', 'bpf_probe_write_user', 'bpf_trace_vprintk']);

/**
 * The helpers programs of `type` may call, asked of the kernel one by one (probeHelper's rule);
 * without `full`, bpf_trace_printk, bpf_trace_vprintk and bpf_probe_write_user are not probed, as bpftool.
 */
export function probeHelpers(sys: Sys, type: number, full = false): HelperSupport {
  const p = progProbe(type);
  if (!probeProgramType(sys, type)) return { available: [], skipped: 'type' };
  if (p.noHelpers) return { available: [], skipped: 'unknown' };
  const plain = p.expectedAttachType === undefined && p.flags === undefined;
  const available = helperNames()
    .filter(([name]) => full || !NOISY_HELPERS.has(name))
    .filter(([, id]) => (plain ? probeHelper(sys, type, id) : probeHelperWith(sys, type, id, p)))
    .map(([n]) => n);
  return { available };
}

function sysctl(path: string): number {
  try {
    const v = Number.parseInt(readFileSync(`/proc/sys/${path}`, 'utf8').trim(), 10);
    return Number.isNaN(v) ? -1 : v;
  } catch {
    return -1;
  }
}

/** The CONFIG_ options bpftool reports, in its order. */
export const BPF_CONFIG_OPTIONS = [
  'CONFIG_BPF', 'CONFIG_BPF_SYSCALL', 'CONFIG_HAVE_EBPF_JIT', 'CONFIG_BPF_JIT', 'CONFIG_BPF_JIT_ALWAYS_ON', 'CONFIG_DEBUG_INFO_BTF', 'CONFIG_DEBUG_INFO_BTF_MODULES',
  'CONFIG_CGROUPS', 'CONFIG_CGROUP_BPF', 'CONFIG_CGROUP_NET_CLASSID', 'CONFIG_SOCK_CGROUP_DATA', 'CONFIG_BPF_EVENTS', 'CONFIG_KPROBE_EVENTS', 'CONFIG_UPROBE_EVENTS',
  'CONFIG_TRACING', 'CONFIG_FTRACE_SYSCALLS', 'CONFIG_FUNCTION_ERROR_INJECTION', 'CONFIG_BPF_KPROBE_OVERRIDE', 'CONFIG_NET', 'CONFIG_XDP_SOCKETS', 'CONFIG_LWTUNNEL_BPF',
  'CONFIG_NET_ACT_BPF', 'CONFIG_NET_CLS_BPF', 'CONFIG_NET_CLS_ACT', 'CONFIG_NET_SCH_INGRESS', 'CONFIG_XFRM', 'CONFIG_IP_ROUTE_CLASSID', 'CONFIG_IPV6_SEG6_BPF',
  'CONFIG_BPF_LIRC_MODE2', 'CONFIG_BPF_STREAM_PARSER', 'CONFIG_NETFILTER_XT_MATCH_BPF', 'CONFIG_BPFILTER', 'CONFIG_BPFILTER_UMH', 'CONFIG_TEST_BPF', 'CONFIG_HZ',
] as const;

/** The kernel's build config: /boot/config-$(uname -r), else /proc/config.gz; undefined when neither is readable. */
export function kernelConfig(): Map<string, string> | undefined {
  let text: string | undefined;
  try {
    text = readFileSync(`/boot/config-${release()}`, 'utf8');
  } catch {
    try {
      text = gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
    } catch {
      return undefined;
    }
  }
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.replace(/^"(.*)"$/, '$1'));
  }
  return out;
}

/** The system part: bpf sysctls and the CONFIG_ options (null when not set). */
export function probeSystemConfig(): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {
    unprivileged_bpf_disabled: sysctl('kernel/unprivileged_bpf_disabled'),
    bpf_jit_enable: sysctl('net/core/bpf_jit_enable'),
    bpf_jit_harden: sysctl('net/core/bpf_jit_harden'),
    bpf_jit_kallsyms: sysctl('net/core/bpf_jit_kallsyms'),
    bpf_jit_limit: sysctl('net/core/bpf_jit_limit'),
  };
  const config = kernelConfig();
  if (config) for (const k of BPF_CONFIG_OPTIONS) out[k] = config.get(k) ?? null;
  return out;
}

function insn(code: number, regs: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = code;
  b[1] = regs;
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}

/** bpftool's misc probes: 4096+1 instruction programs, a bounded loop, JLT (v2) and JMP32 (v3). */
export function probeMisc(sys: Sys): Record<string, boolean> {
  const exit = insn(0x95, 0, 0, 0);
  const mov = (imm: number): number[] => insn(0xb7, 0, 0, imm);
  const big: number[] = [];
  for (let i = 0; i < 4096; i++) big.push(...mov(1));
  big.push(...exit);
  let large: boolean;
  try {
    loadProgram(sys, { type: ProgType.SCHED_CLS, insns: Uint8Array.from(big), license: 'GPL' }).close();
    large = true;
  } catch (err) {
    large = !(isErrno(err, Errno.E2BIG) || isErrno(err, Errno.EINVAL) || err instanceof VerifierError);
  }
  const loads = (code: number[]): boolean => tryLoad(sys, ProgType.SOCKET_FILTER, Uint8Array.from(code), {}).ok;
  return {
    have_large_insn_limit: large,
    have_bounded_loops: loads([...mov(10), ...insn(0x17, 0, 0, 1), ...insn(0x55, 0, -2, 0), ...exit]),
    have_v2_isa_extension: loads([...mov(0), ...insn(0xa5, 0, 1, 0), ...mov(1), ...exit]),
    have_v3_isa_extension: loads([...mov(0), ...insn(0xa6, 0, 1, 0), ...mov(1), ...exit]),
  };
}

/** Everything `bpftool feature probe kernel [full]` reports, asked of the kernel behind `sys`. */
export function probeKernelFeatures(sys: Sys, full = false): FeatureReport {
  const programTypes: Record<string, boolean> = {};
  const helpers: Record<string, HelperSupport> = {};
  for (const [name, type] of programTypeNames()) {
    programTypes[`have_${name}_prog_type`] = probeProgramType(sys, type);
    helpers[name] = probeHelpers(sys, type, full);
  }
  const mapTypes: Record<string, boolean> = {};
  for (const [name, type] of mapTypeNames()) mapTypes[`have_${name}_map_type`] = probeMapType(sys, type);
  return { systemConfig: probeSystemConfig(), programTypes, mapTypes, helpers, misc: probeMisc(sys) };
}
