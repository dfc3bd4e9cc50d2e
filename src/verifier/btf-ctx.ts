// BTF-typed tracing contexts (tp_btf, fentry/fexit/fmod_ret, iter): the kernel's bpf_check_attach_target and btf_ctx_access (kernel/bpf/btf.c).
import type { Btf, BtfType, FuncParam, FuncProtoType } from '../btf/index.js';
import type { CtxAccessCheck, ProgramTypeOps } from '../ctx/index.js';
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';

/** MAX_BPF_FUNC_ARGS: the context is at most this many u64 slots. */
const MAX_ARGS = 12;

/** A tracing program's resolved attach target: the prototype its context follows. */
export interface TracingTarget {
  /** The name the kernel logs (`xdp_exception`, `tcp_v4_connect`, `bpf_iter_task`). */
  readonly name: string;
  /** The target's prototype; for tp_btf the `btf_trace_<name>` one, whose first `void *__data` is skipped. */
  readonly proto: FuncProtoType;
  /** tp_btf: the first parameter is the tracepoint's private data, not a context slot. */
  readonly btfTrace: boolean;
  /** expected_attach_type (BPF_TRACE_RAW_TP, BPF_TRACE_FENTRY...). */
  readonly attachType: number;
}

/**
 * raw_tp_null_args (6.12's kernel/bpf/btf.c): tracepoints whose arguments may be NULL or an error
 * pointer. Per argument i, the nibble at bits 4i..4i+3: 0x1 PTR_MAYBE_NULL, 0x2 IS_ERR (a scalar).
 */
const RAW_TP_NULL_ARGS: ReadonlyMap<string, number> = new Map([
  ['sched_pi_setprio', 0x10], ['sched_process_wait', 0x1], ['sched_stick_numa', 0x100], ['sched_swap_numa', 0x100],
  ['afs_make_fs_call', 0x10], ['afs_make_fs_calli', 0x10], ['afs_make_fs_call1', 0x10], ['afs_make_fs_call2', 0x10],
  ['afs_protocol_error', 0x1], ['afs_flock_ev', 0x10], ['cachefiles_lookup', 0x201], ['cachefiles_unlink', 0x1],
  ['cachefiles_rename', 0x1], ['cachefiles_prep_read', 0x1], ['cachefiles_mark_active', 0x1],
  ['cachefiles_mark_failed', 0x1], ['cachefiles_mark_inactive', 0x1], ['cachefiles_vfs_error', 0x1],
  ['cachefiles_io_error', 0x1], ['cachefiles_ondemand_open', 0x1], ['cachefiles_ondemand_copen', 0x1],
  ['cachefiles_ondemand_close', 0x1], ['cachefiles_ondemand_read', 0x1], ['cachefiles_ondemand_cread', 0x1],
  ['cachefiles_ondemand_fd_write', 0x1], ['cachefiles_ondemand_fd_release', 0x1], ['ext4_mballoc_discard', 0x10],
  ['ext4_mballoc_free', 0x10], ['fib_table_lookup', 0x100], ['posix_lock_inode', 0x10], ['fcntl_setlk', 0x10],
  ['locks_remove_posix', 0x10], ['flock_lock_inode', 0x10], ['break_lease_noblock', 0x10],
  ['break_lease_block', 0x10], ['break_lease_unblock', 0x10], ['generic_delete_lease', 0x10],
  ['time_out_leases', 0x10], ['host1x_cdma_push_gather', 0x10000], ['mm_khugepaged_scan_pmd', 0x10],
  ['mm_collapse_huge_page_isolate', 0x1], ['mm_khugepaged_scan_file', 0x10], ['mm_khugepaged_collapse_file', 0x10],
  ['mm_page_alloc', 0x1], ['mm_page_pcpu_drain', 0x1], ['mm_page_alloc_zone_locked', 0x1], ['netfs_failure', 0x10],
  ['device_pm_callback_start', 0x10], ['qdisc_dequeue', 0x1000], ['rxrpc_recvdata', 0x1], ['rxrpc_resend', 0x10],
  ['signal_generate', 0x20], ['signal_deliver', 0x20], ['kfree_skb', 0x1000], ['xs_stream_read_data', 0x1],
  ['xprt_reserve_cong', 0x10], ['xprt_release_cong', 0x10], ['xprt_get_cong', 0x10], ['xprt_put_cong', 0x10],
  ['tcp_send_reset', 0x11], ['tegra_dma_tx_status', 0x100], ['tmigr_update_events', 0x1],
  ['writeback_dirty_folio', 0x10], ['folio_wait_writeback', 0x10], ['mr_integ_alloc', 0x2000],
]);

function skipMods(btf: Btf, id: number): BtfType | undefined {
  if (id === 0) return undefined;
  let t = btf.typeById(id);
  while (t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict' || t.kind === 'typedef' || t.kind === 'type_tag') {
    if (t.type === 0) return undefined;
    t = btf.typeById(t.type);
  }
  return t;
}

/**
 * bpf_check_attach_target for a tracing program: the `btf_trace_<name>` typedef (tp_btf), the
 * function `name` (fentry/fexit/fmod_ret) or `bpf_iter_<name>` (iter) in the kernel's BTF.
 * Returns a message naming what is missing when the BTF lacks it.
 */
export function resolveTracingTarget(btf: Btf, attachType: number, attachTo: string): TracingTarget | string {
  if (attachType === BpfAttachType.TRACE_RAW_TP) {
    const tdName = `btf_trace_${attachTo}`;
    const td = btf.typesByName(tdName).find((t) => t.kind === 'typedef');
    const ptr = td && td.kind === 'typedef' ? skipMods(btf, td.type) : undefined;
    const proto = ptr?.kind === 'ptr' ? skipMods(btf, ptr.type) : undefined;
    if (proto?.kind !== 'func_proto') return `bpfkit: tracepoint ${attachTo} is not in the kernel's BTF (no typedef ${tdName})`;
    return { name: attachTo, proto, btfTrace: true, attachType };
  }
  const fname = attachType === BpfAttachType.TRACE_ITER ? `bpf_iter_${attachTo}` : attachTo;
  const fn = btf.typesByName(fname).find((t) => t.kind === 'func');
  const proto = fn?.kind === 'func' ? btf.typeById(fn.type) : undefined;
  if (proto?.kind !== 'func_proto') return `bpfkit: attach target ${fname} is not a function in the kernel's BTF`;
  return { name: fname, proto, btfTrace: false, attachType };
}

function paramsOf(target: TracingTarget): readonly FuncParam[] {
  return target.btfTrace ? target.proto.params.slice(1) : target.proto.params;
}

/** get_ctx_arg_idx: the argument slot `off` falls in (pointers 8 bytes, others rounded up to 8). */
function ctxArgIndex(btf: Btf, proto: FuncProtoType, off: number): number {
  let offset = 0;
  const slot = (id: number): number => {
    const t = skipMods(btf, id);
    if (!t || t.kind === 'ptr') return 8;
    return Math.ceil(btf.resolveSize(t.id) / 8) * 8;
  };
  for (let i = 0; i < proto.params.length; i++) {
    offset += slot(proto.params[i]!.type);
    if (off < offset) return i;
  }
  offset += slot(proto.returnType);
  if (off < offset) return proto.params.length;
  return proto.params.length + 1;
}

const deny = (off: number, size: number, why: string): CtxAccessCheck => ({ reason: `invalid bpf_context access off=${off} size=${size}`, detail: why });

/**
 * bpf_tracing_btf_ctx_access + btf_ctx_access: loads only, aligned to their size, inside the u64
 * argument array; the slot's BTF type decides what the load yields (scalar for integers, enums,
 * structs, `void *` and pointers to integers; PTR_TO_BTF_ID for pointers to structs).
 */
export function tracingCtxAccess(btf: Btf, target: TracingTarget, off: number, size: number, write: boolean): CtxAccessCheck {
  if (off < 0 || off >= 8 * MAX_ARGS || write || off % size !== 0) return deny(off, size, write ? 'tracing contexts are read-only' : 'outside the argument array or misaligned');
  const tname = target.name;
  if (off % 8) return deny(off, size, `func '${tname}' offset ${off} is not multiple of 8`);
  const params = paramsOf(target);
  let arg: number;
  try {
    arg = ctxArgIndex(btf, target.proto, off);
  } catch {
    return deny(off, size, `func '${tname}' has an argument of unknown size`);
  }
  // btf_ctx_access counts over the full prototype but indexes past tp_btf's __data.
  if (arg > params.length) return deny(off, size, `func '${tname}' doesn't have ${arg + 1}-th argument`);
  let t: BtfType | undefined;
  if (arg === params.length) {
    if (target.attachType === BpfAttachType.TRACE_FEXIT) t = skipMods(btf, target.proto.returnType);
    else if (target.attachType === BpfAttachType.MODIFY_RETURN) {
      t = skipMods(btf, target.proto.returnType);
      if (t?.kind !== 'int' || t.size > 8) return deny(off, size, `ret type ${t?.kind ?? 'void'} not allowed for fmod_ret`);
    } else return deny(off, size, `func '${tname}' doesn't have ${arg + 1}-th argument`);
  } else t = skipMods(btf, params[arg]!.type);
  if (arg < 0) arg = 0;
  if (!t || t.kind === 'int' || t.kind === 'enum' || t.kind === 'enum64' || t.kind === 'struct' || t.kind === 'union') return { field: `args[${arg}]`, type: 'scalar' };
  if (t.kind !== 'ptr') return deny(off, size, `func '${tname}' arg${arg} '${t.name}' has type ${t.kind}. Only pointer access is allowed`);
  if (size !== 8) return deny(off, size, `func '${tname}' size ${size} must be 8`);
  const pointee = skipMods(btf, t.type);
  if (!pointee || pointee.kind === 'int') return { field: `args[${arg}]`, type: 'scalar' };
  if (pointee.kind !== 'struct' && pointee.kind !== 'union') return deny(off, size, `func '${tname}' arg${arg} type ${pointee.kind} is not a struct`);
  const trusted = target.attachType === BpfAttachType.TRACE_RAW_TP || target.attachType === BpfAttachType.TRACE_ITER;
  // An iterator's object arguments come as PTR_TO_BTF_ID_OR_NULL (its ctx_arg_info), the meta not.
  const mask = target.btfTrace ? (RAW_TP_NULL_ARGS.get(target.name) ?? 0) / 2 ** (4 * arg) : 0;
  const nullable = (arg < params.length && params[arg]!.name.endsWith('__nullable')) || (target.attachType === BpfAttachType.TRACE_ITER && arg > 0) || (mask & 1) !== 0;
  // "marking pointer argN as scalar as it may encode error"
  if ((mask & 2) !== 0) return { field: `args[${arg}]`, type: 'scalar' };
  return { field: `args[${arg}]`, type: 'btf_id', btf: pointee.name, trusted, ...(nullable ? { maybeNull: true } : {}) };
}

/** Verifier ops of a BPF_PROG_TYPE_TRACING program attached to `target`: its BTF-typed context; helpers as the kernel's tracing_prog_func_proto offers them. */
export function tracingOps(btf: Btf, target: TracingTarget): ProgramTypeOps {
  return {
    type: BpfProgType.TRACING,
    name: 'tracing',
    ctxSize: 8 * MAX_ARGS,
    checkAccess: (off, size, write) => tracingCtxAccess(btf, target, off, size, write),
    helperAllowed: () => true,
  };
}
