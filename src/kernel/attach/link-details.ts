// The type-specific part of a link's info, in `bpftool link show -j`'s field names: tp_name, attach_type, cgroup_id...
import { attachTypeName } from '../../isa/attach-types.js';
import { LINK_INFO, OBJ_INFO_ATTR } from '../bpf-attr.generated.js';
import { BpfCmd } from '../bpf/constants.js';
import type { Fd } from '../fd.js';
import { StructReader, StructWriter } from '../struct-codec.js';
import { LinkType } from './constants.js';

/** Type-specific link fields, bpftool's names (a subset is present per link type). */
export interface LinkDetails {
  /** Raw tracepoint name (raw_tracepoint links; perf_event links on a tracepoint). */
  readonly tp_name?: string;
  /** Attach type name (tracing, cgroup, netns... links). */
  readonly attach_type?: string;
  /** Target program id (freplace) or BTF object id (fentry on vmlinux/a module). */
  readonly target_obj_id?: number;
  /** BTF id of the traced function. */
  readonly target_btf_id?: number;
  /** Cgroup id (the cgroup directory's inode number), cgroup links. */
  readonly cgroup_id?: number;
  /** perf_event links: `'tracepoint'`, `'kprobe'`, `'kretprobe'`, `'uprobe'`, `'event'`. */
  readonly event_type?: string;
  /** perf_event kprobe links: the function. */
  readonly func?: string;
  /** perf_event links: the sampling event's type and config. */
  readonly event_config?: number;
  /** kprobe_multi links: number of functions. */
  readonly func_cnt?: number;
}

const PERF_EVENT_KIND = ['unspec', 'uprobe', 'uretprobe', 'kprobe', 'kretprobe', 'tracepoint', 'event'];

function fill(fd: Fd<'link'>, info: StructWriter<typeof LINK_INFO>): StructReader<typeof LINK_INFO> {
  const attr = new StructWriter(OBJ_INFO_ATTR).u32('bpf_fd', fd.raw).u32('info_len', info.bytes.length).ptr('info', info.bytes, 'inout', info.pointers);
  fd.sys.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr.bytes, attr.pointers);
  return new StructReader(LINK_INFO, info.bytes);
}

const text = (buf: Uint8Array): string => {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end));
};

/** Reads the type-specific fields of link `fd` (a second info call fills string buffers). */
export function linkDetails(fd: Fd<'link'>): LinkDetails {
  const r = fill(fd, new StructWriter(LINK_INFO));
  const type = r.u32('type');
  switch (type) {
    case LinkType.RAW_TRACEPOINT: {
      const len = r.u32('raw_tracepoint.tp_name_len');
      const buf = new Uint8Array(Math.max(len, 1) + 1);
      fill(fd, new StructWriter(LINK_INFO).ptr('raw_tracepoint.tp_name', buf, 'out').u32('raw_tracepoint.tp_name_len', buf.length));
      return { tp_name: text(buf) };
    }
    case LinkType.TRACING:
      return {
        attach_type: attachTypeName(r.u32('tracing.attach_type')),
        target_obj_id: r.u32('tracing.target_obj_id'),
        target_btf_id: r.u32('tracing.target_btf_id'),
      };
    case LinkType.CGROUP:
      return { cgroup_id: Number(r.u64('cgroup.cgroup_id')), attach_type: attachTypeName(r.u32('cgroup.attach_type')) };
    case LinkType.NETNS:
      return { attach_type: attachTypeName(r.u32('netns.attach_type')) };
    case LinkType.KPROBE_MULTI:
      return { func_cnt: r.u32('kprobe_multi.count') };
    case LinkType.PERF_EVENT: {
      const kind = PERF_EVENT_KIND[r.u32('perf_event.type')] ?? 'unspec';
      if (kind === 'tracepoint') {
        const buf = new Uint8Array(256);
        fill(fd, new StructWriter(LINK_INFO).ptr('perf_event.tracepoint.tp_name', buf, 'out').u32('perf_event.tracepoint.name_len', buf.length));
        return { event_type: kind, tp_name: text(buf) };
      }
      if (kind === 'kprobe' || kind === 'kretprobe') {
        const buf = new Uint8Array(256);
        fill(fd, new StructWriter(LINK_INFO).ptr('perf_event.kprobe.func_name', buf, 'out').u32('perf_event.kprobe.name_len', buf.length));
        return { event_type: kind, func: text(buf) };
      }
      if (kind === 'event') return { event_type: kind, event_config: Number(r.u64('perf_event.event.config')) };
      return { event_type: kind };
    }
    default:
      return {};
  }
}
