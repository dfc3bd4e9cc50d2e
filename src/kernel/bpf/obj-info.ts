// BPF_OBJ_GET_INFO_BY_FD: what the kernel knows about a program, map, link or BTF, as plain objects.
import { BTF_INFO, LINK_INFO, MAP_INFO, OBJ_INFO_ATTR, PROG_INFO } from '../bpf-attr.generated.js';
import { adoptFd, type Fd } from '../fd.js';
import type { StructLayout } from '../layout.js';
import type { PointerField } from '../sys.js';
import { StructReader, StructWriter } from '../struct-codec.js';
import { BpfCmd } from './constants.js';
import { MapFd } from './map-fd.js';

/** What the kernel reports about a loaded program. */
export interface ProgramInfo {
  /** `enum bpf_prog_type`. */
  readonly type: number;
  /** Program id (as `bpftool prog show id N`). */
  readonly id: number;
  /** Program name (up to 15 characters). */
  readonly name: string;
  /** The tag: SHA-1 prefix of the translated instructions, 16 hex digits as bpftool prints it. */
  readonly tag: string;
  /** Bytes of JIT-compiled code (0 without JIT or without permission). */
  readonly jitedProgLen: number;
  /** Bytes of translated (xlated) instructions. */
  readonly xlatedProgLen: number;
  /** Load time in nanoseconds since boot. */
  readonly loadTime: bigint;
  /** Uid of the loading process. */
  readonly createdByUid: number;
  /** Ids of the maps the program uses. */
  readonly mapIds: readonly number[];
  /** Id of the program's BTF, 0 if none. */
  readonly btfId: number;
  /** Whether the license is GPL-compatible. */
  readonly gplCompatible: boolean;
  /** Interface index for offloaded programs, else 0. */
  readonly ifindex: number;
  /** Total run time in ns (with kernel.bpf_stats_enabled). */
  readonly runTimeNs: bigint;
  /** Run count (with kernel.bpf_stats_enabled). */
  readonly runCount: bigint;
  /** Instructions the verifier processed. */
  readonly verifiedInsns: number;
}

/** What the kernel reports about a map. */
export interface MapInfo {
  /** `enum bpf_map_type`. */
  readonly type: number;
  /** Map id. */
  readonly id: number;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes. */
  readonly valueSize: number;
  /** Maximum entries. */
  readonly maxEntries: number;
  /** `map_flags`. */
  readonly flags: number;
  /** Map name. */
  readonly name: string;
  /** Interface index for offloaded maps, else 0. */
  readonly ifindex: number;
  /** Id of the map's BTF, 0 if none. */
  readonly btfId: number;
  /** BTF type id of the key. */
  readonly btfKeyTypeId: number;
  /** BTF type id of the value. */
  readonly btfValueTypeId: number;
  /** Type-specific extra. */
  readonly mapExtra: bigint;
  /** BTF type id of the value in vmlinux's BTF (struct_ops maps), else 0. */
  readonly btfVmlinuxValueTypeId?: number;
}

/** What the kernel reports about a link. The type-specific part is decoded for common types. */
export interface LinkInfo {
  /** `enum bpf_link_type` (XDP 6, TCX 11...). */
  readonly type: number;
  /** Link id. */
  readonly id: number;
  /** Id of the attached program. */
  readonly progId: number;
  /** Interface index, for XDP, TCX and netkit links (0 once detached). */
  readonly ifindex: number | undefined;
  /** Attach type, for TCX, netkit, cgroup and netns links. */
  readonly attachType: number | undefined;
  /** The whole `struct bpf_link_info` as the kernel filled it, for other types. */
  readonly raw: Uint8Array;
}

/** What the kernel reports about a BTF object. */
export interface BtfInfo {
  /** BTF id. */
  readonly id: number;
  /** Size of the raw BTF in bytes. */
  readonly size: number;
  /** Name (`vmlinux`, a module name, or empty for user BTF). */
  readonly name: string;
  /** True for kernel (vmlinux or module) BTF. */
  readonly kernelBtf: boolean;
}

/** Fills `info` (a struct of `layout`) for `fd`; returns a reader of the result. */
function getInfo<L extends StructLayout>(fd: Fd, layout: L, info: StructWriter<L>): StructReader<L> {
  const nested: PointerField[] = info.pointers;
  const attr = new StructWriter(OBJ_INFO_ATTR).u32('bpf_fd', fd.raw).u32('info_len', info.bytes.length).ptr('info', info.bytes, 'inout', nested);
  fd.sys.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr.bytes, attr.pointers);
  const len = new StructReader(OBJ_INFO_ATTR, attr.bytes).u32('info_len');
  return new StructReader(layout, info.bytes.subarray(0, Math.min(len, info.bytes.length)));
}

const hex = (bytes: Uint8Array): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

/** Reads a program's info; map ids come from a second call with a buffer sized by the first. */
export function programInfo(fd: Fd<'prog'>): ProgramInfo {
  let r = getInfo(fd, PROG_INFO, new StructWriter(PROG_INFO));
  let mapIds: number[] = [];
  const nrMapIds = r.u32('nr_map_ids');
  if (nrMapIds > 0) {
    const ids = new Uint8Array(nrMapIds * 4);
    r = getInfo(fd, PROG_INFO, new StructWriter(PROG_INFO).u32('nr_map_ids', nrMapIds).ptr('map_ids', ids, 'out'));
    const dv = new DataView(ids.buffer);
    mapIds = Array.from({ length: Math.min(nrMapIds, r.u32('nr_map_ids')) }, (_, i) => dv.getUint32(i * 4, true));
  }
  return {
    type: r.u32('type'),
    id: r.u32('id'),
    name: r.cstring('name'),
    tag: hex(r.bytesField('tag')),
    jitedProgLen: r.u32('jited_prog_len'),
    xlatedProgLen: r.u32('xlated_prog_len'),
    loadTime: r.u64('load_time'),
    createdByUid: r.u32('created_by_uid'),
    mapIds,
    btfId: r.u32('btf_id'),
    gplCompatible: r.u32('gpl_compatible') === 1,
    ifindex: r.u32('ifindex'),
    runTimeNs: r.u64('run_time_ns'),
    runCount: r.u64('run_cnt'),
    verifiedInsns: r.u32('verified_insns'),
  };
}

/** Reads a map's info. */
export function mapInfo(fd: Fd<'map'>): MapInfo {
  const r = getInfo(fd, MAP_INFO, new StructWriter(MAP_INFO));
  return {
    type: r.u32('type'),
    id: r.u32('id'),
    keySize: r.u32('key_size'),
    valueSize: r.u32('value_size'),
    maxEntries: r.u32('max_entries'),
    flags: r.u32('map_flags'),
    name: r.cstring('name'),
    ifindex: r.u32('ifindex'),
    btfId: r.u32('btf_id'),
    btfKeyTypeId: r.u32('btf_key_type_id'),
    btfValueTypeId: r.u32('btf_value_type_id'),
    mapExtra: r.u64('map_extra'),
    btfVmlinuxValueTypeId: r.u32('btf_vmlinux_value_type_id'),
  };
}

// enum bpf_link_type values whose union member has ifindex / attach_type at these names.
const LINK_XDP = 6;
const LINK_TCX = 11;
const LINK_NETKIT = 13;
const LINK_CGROUP = 3;
const LINK_NETNS = 5;

/** Reads a link's info. */
export function linkInfo(fd: Fd<'link'>): LinkInfo {
  const r = getInfo(fd, LINK_INFO, new StructWriter(LINK_INFO));
  const type = r.u32('type');
  let ifindex: number | undefined;
  let attachType: number | undefined;
  if (type === LINK_XDP) ifindex = r.u32('xdp.ifindex');
  if (type === LINK_TCX) [ifindex, attachType] = [r.u32('tcx.ifindex'), r.u32('tcx.attach_type')];
  if (type === LINK_NETKIT) [ifindex, attachType] = [r.u32('netkit.ifindex'), r.u32('netkit.attach_type')];
  if (type === LINK_CGROUP) attachType = r.u32('cgroup.attach_type');
  if (type === LINK_NETNS) attachType = r.u32('netns.attach_type');
  return { type, id: r.u32('id'), progId: r.u32('prog_id'), ifindex, attachType, raw: r.bytes.slice() };
}

/** Reads a BTF object's info, including its name. */
export function btfInfo(fd: Fd<'btf'>): BtfInfo {
  const name = new Uint8Array(256);
  const r = getInfo(fd, BTF_INFO, new StructWriter(BTF_INFO).ptr('name', name, 'out').u32('name_len', name.length));
  const end = name.indexOf(0);
  return {
    id: r.u32('id'),
    size: r.u32('btf_size'),
    name: new TextDecoder().decode(name.subarray(0, end < 0 ? name.length : end)),
    kernelBtf: r.u32('kernel_btf') !== 0,
  };
}

/**
 * Turns a generic map fd (from a pin or an id) into a {@link MapFd} by reading its attributes.
 * Takes ownership: on success `fd` is released into the result, on failure it is closed.
 */
export function toMapFd(fd: Fd<'map'>): MapFd {
  return adoptFd(fd, (f) => {
    const info = mapInfo(f);
    return new MapFd(f.sys, f.release(), { type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags });
  });
}

/** One `struct bpf_line_info` of a loaded program: instruction, file and source line (string offsets in its BTF), line/column. */
export interface ProgramLineInfo {
  /** Instruction index (in the translated program). */
  readonly insnOff: number;
  /** Offset of the file name in the program's BTF strings. */
  readonly fileNameOff: number;
  /** Offset of the source line text in the program's BTF strings. */
  readonly lineOff: number;
  /** Line number (`line_col >> 10`). */
  readonly line: number;
  /** Column (`line_col & 0x3ff`). */
  readonly col: number;
}

/** A program's BTF debug records as the kernel holds them: its BTF id, func info and line info (xlated offsets). */
export interface ProgramDebugInfo {
  /** Id of the program's BTF (0 without BTF). */
  readonly btfId: number;
  /** `struct bpf_func_info`: first instruction and FUNC type id of each function. */
  readonly funcInfo: readonly { readonly insnOff: number; readonly typeId: number }[];
  /** `struct bpf_line_info` records, in instruction order. */
  readonly lineInfo: readonly ProgramLineInfo[];
}

/** Reads a program's func and line info (BPF_OBJ_GET_INFO_BY_FD, sized by a first call). */
export function programDebugInfo(fd: Fd<'prog'>): ProgramDebugInfo {
  const first = getInfo(fd, PROG_INFO, new StructWriter(PROG_INFO));
  const nFunc = first.u32('nr_func_info');
  const nLine = first.u32('nr_line_info');
  const funcRec = first.u32('func_info_rec_size') || 8;
  const lineRec = first.u32('line_info_rec_size') || 16;
  if (nFunc === 0 && nLine === 0) return { btfId: first.u32('btf_id'), funcInfo: [], lineInfo: [] };
  const fbuf = new Uint8Array(nFunc * funcRec);
  const lbuf = new Uint8Array(nLine * lineRec);
  const w = new StructWriter(PROG_INFO);
  if (nFunc) w.u32('nr_func_info', nFunc).u32('func_info_rec_size', funcRec).ptr('func_info', fbuf, 'out');
  if (nLine) w.u32('nr_line_info', nLine).u32('line_info_rec_size', lineRec).ptr('line_info', lbuf, 'out');
  const r = getInfo(fd, PROG_INFO, w);
  const fv = new DataView(fbuf.buffer);
  const lv = new DataView(lbuf.buffer);
  return {
    btfId: r.u32('btf_id'),
    funcInfo: Array.from({ length: Math.min(nFunc, r.u32('nr_func_info')) }, (_, i) => ({ insnOff: fv.getUint32(i * funcRec, true), typeId: fv.getUint32(i * funcRec + 4, true) })),
    lineInfo: Array.from({ length: Math.min(nLine, r.u32('nr_line_info')) }, (_, i) => {
      const lc = lv.getUint32(i * lineRec + 12, true);
      return { insnOff: lv.getUint32(i * lineRec, true), fileNameOff: lv.getUint32(i * lineRec + 4, true), lineOff: lv.getUint32(i * lineRec + 8, true), line: lc >>> 10, col: lc & 0x3ff };
    }),
  };
}
