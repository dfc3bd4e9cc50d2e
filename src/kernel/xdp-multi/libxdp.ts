// libxdp's multi-program protocol (lib/libxdp/protocol.org): recognising its dispatcher, reading its config, probing freplace.
import { ProgType } from '../bpf/constants.js';
import { lookupElem } from '../bpf/map-elem.js';
import { fdById, mapFdById } from '../bpf/obj-id.js';
import { mapInfo, programInfo } from '../bpf/obj-info.js';
import { type Feature } from '../feature-probe.js';
import { probeProgramType } from '../feature-report.js';
import type { ObjectSpec } from '../../elf/object-spec.js';
import { BpfProgLoadFlags } from '../../isa/program-types.js';
import { sortChain, XDP_DISPATCHER_RETVAL } from '../../runtime/xdp-run-config.js';
import type { Sys } from '../sys.js';
import { TooManyXdpProgramsError, XdpProgramNoBtfError } from './errors.js';

const FRAGS_FLAG = BpfProgLoadFlags.XDP_HAS_FRAGS;

/** libxdp's dispatcher function (and program) name. */
export const LIBXDP_DISPATCHER_NAME = 'xdp_dispatcher';
/** `XDP_DISPATCHER_MAGIC`: first byte of a version >= 2 dispatcher's config. */
export const XDP_DISPATCHER_MAGIC = 236;
/** The dispatcher protocol version bpfkit implements. */
export const XDP_DISPATCHER_VERSION = 2;
/** `MAX_DISPATCHER_ACTIONS`: slots of a libxdp dispatcher. */
export const LIBXDP_SLOTS = 10;
/** Size of `struct xdp_dispatcher_config` (version 2): 4 bytes of header, then three u32[10]. */
export const LIBXDP_CONFIG_SIZE = 4 + 3 * 4 * LIBXDP_SLOTS;

/** `struct xdp_dispatcher_config`, decoded. */
export interface LibxdpDispatcherConfig {
  /** Protocol version: the `dispatcher_version` byte when the magic is there, else 1. */
  readonly version: number;
  readonly numProgsEnabled: number;
  readonly isXdpFrags: boolean;
  readonly chainCallActions: readonly number[];
  readonly runPrios: readonly number[];
  readonly programFlags: readonly number[];
}

/** Decodes a dispatcher's `.rodata` value (version 1 has no magic: its first byte is the program count). */
export function decodeLibxdpConfig(value: Uint8Array): LibxdpDispatcherConfig {
  const dv = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const u32s = (from: number): number[] => [...Array(LIBXDP_SLOTS).keys()].map((i) => (from + i * 4 + 4 <= value.length ? dv.getUint32(from + i * 4, true) : 0));
  if (value[0] === XDP_DISPATCHER_MAGIC) {
    return { version: value[1] ?? 0, numProgsEnabled: value[2] ?? 0, isXdpFrags: value[3] === 1, chainCallActions: u32s(4), runPrios: u32s(44), programFlags: u32s(84) };
  }
  return { version: 1, numProgsEnabled: value[0] ?? 0, isXdpFrags: false, chainCallActions: u32s(4), runPrios: u32s(44), programFlags: [] };
}

/** Encodes a version-2 config (the dispatcher's `.rodata` before it is loaded). */
export function encodeLibxdpConfig(c: Omit<LibxdpDispatcherConfig, 'version'>): Uint8Array {
  const out = new Uint8Array(LIBXDP_CONFIG_SIZE);
  const dv = new DataView(out.buffer);
  out[0] = XDP_DISPATCHER_MAGIC;
  out[1] = XDP_DISPATCHER_VERSION;
  out[2] = c.numProgsEnabled;
  out[3] = c.isXdpFrags ? 1 : 0;
  for (let i = 0; i < LIBXDP_SLOTS; i++) {
    dv.setUint32(4 + i * 4, c.chainCallActions[i] ?? 0, true);
    dv.setUint32(44 + i * 4, c.runPrios[i] ?? 0, true);
    dv.setUint32(84 + i * 4, c.programFlags[i] ?? 0, true);
  }
  return out;
}

/** Reads the config of the libxdp dispatcher `progId` from its `.rodata` map; undefined when it has none. */
export function inspectLibxdp(sys: Sys, progId: number): LibxdpDispatcherConfig | undefined {
  using prog = fdById(sys, 'prog', progId);
  for (const id of programInfo(prog).mapIds) {
    using map = mapFdById(sys, id);
    const info = mapInfo(map);
    if (!info.name.endsWith('.rodata') || info.valueSize < 4) continue;
    const value = lookupElem(map, new Uint8Array(4));
    if (value) return decodeLibxdpConfig(value);
  }
  return undefined;
}

/** The libxdp dispatcher directory of interface `ifindex` whose dispatcher is prog `progId`. */
export const libxdpDispatcherDir = (bpffs: string, ifindex: number, progId: number): string => `${bpffs.replace(/\/+$/, '')}/xdp/dispatch-${ifindex}-${progId}`;

/**
 * freplace (`BPF_PROG_TYPE_EXT`), which libxdp's protocol needs: probed as libbpf does (an EXT
 * load with a bogus target must fail with EINVAL "Cannot replace kernel functions"). A kernel
 * that refuses tracing-type programs (EPERM even as root, as this machine's) lacks it.
 */
export const freplaceFeature: Feature = {
  name: 'freplace (BPF_PROG_TYPE_EXT), needed by libxdp dispatchers',
  minKernel: '5.10',
  probe: (sys) => probeProgramType(sys, ProgType.EXT),
};

/** One program of a libxdp dispatcher plan. */
export interface LibxdpPlanProgram {
  /** Function name (the freplace program's name). */
  readonly name: string;
  readonly priority: number;
  /** Chain-call actions as given (XDP_DISPATCHER_RETVAL's bit is added in the config). */
  readonly chainCallActions: number;
  /** BPF_F_XDP_HAS_FRAGS when the program supports frags. */
  readonly flags: number;
  /** Already attached to the current dispatcher (sorted before new ones on ties). */
  readonly loaded: boolean;
  /** Instruction count (a tie-breaker). */
  readonly size: number;
}

/** What a new libxdp dispatcher is loaded with, and which stub each program replaces. */
export interface LibxdpPlan {
  /** Programs in run order; program i replaces stub `prog<i>`. */
  readonly programs: readonly LibxdpPlanProgram[];
  /** For each slot, the index of its program in `[...loaded, ...adding]`. */
  readonly order: readonly number[];
  /** The `.rodata` config of the new dispatcher. */
  readonly config: Uint8Array;
  /** The freplace target of each program: `prog0`, `prog1`... */
  readonly targets: readonly string[];
  /** Whether the dispatcher is loaded with BPF_F_XDP_HAS_FRAGS (every program has it, and the kernel knows the flag). */
  readonly frags: boolean;
}

/**
 * Plans a libxdp dispatcher (protocol version 2) for `loaded` (read from the current
 * dispatcher's config: their priorities and actions are kept) plus `adding`: run order by
 * libxdp's rules, each slot's chain-call actions with the stub's return value (bit 31) added,
 * `run_prios`, `program_flags`, and frags only when every program has them. Throws
 * {@link XdpProgramNoBtfError} for a new program without BTF (freplace needs its function's BTF)
 * and {@link TooManyXdpProgramsError} past 10 programs — before anything is loaded.
 */
export function planLibxdpDispatcher(
  ifname: string,
  loaded: readonly LibxdpPlanProgram[],
  adding: readonly { spec: Pick<ObjectSpec, 'btf'>; program: LibxdpPlanProgram }[],
  kernelHasFrags = true,
): LibxdpPlan {
  for (const a of adding) {
    const func = a.spec.btf?.typesByName(a.program.name).find((t) => t.kind === 'func');
    if (!func) throw new XdpProgramNoBtfError(a.program.name);
  }
  if (loaded.length + adding.length > LIBXDP_SLOTS) throw new TooManyXdpProgramsError(ifname, LIBXDP_SLOTS, loaded.length, adding.length);
  const all = [...loaded, ...adding.map((a) => ({ ...a.program, loaded: false }))].map((p, sequence) => ({ ...p, sequence }));
  const sorted = sortChain(all);
  const programs = sorted.map(({ sequence: _s, ...p }) => p);
  const frags = kernelHasFrags && programs.every((p) => (p.flags & FRAGS_FLAG) !== 0);
  const config = encodeLibxdpConfig({
    numProgsEnabled: programs.length,
    isXdpFrags: frags,
    chainCallActions: programs.map((p) => (p.chainCallActions | (1 << XDP_DISPATCHER_RETVAL)) >>> 0),
    runPrios: programs.map((p) => p.priority),
    programFlags: programs.map((p) => p.flags & FRAGS_FLAG),
  });
  return { programs, order: sorted.map((p) => p.sequence), config, targets: programs.map((_, i) => `prog${i}`), frags };
}

/** The pins of a libxdp dispatcher with `n` programs: the directory, then progN-prog and progN-link for each. */
export function libxdpPins(bpffs: string, ifindex: number, dispatcherId: number, n: number): { dir: string; prog: string[]; link: string[] } {
  const dir = libxdpDispatcherDir(bpffs, ifindex, dispatcherId);
  return { dir, prog: [...Array(n).keys()].map((i) => `${dir}/prog${i}-prog`), link: [...Array(n).keys()].map((i) => `${dir}/prog${i}-link`) };
}
