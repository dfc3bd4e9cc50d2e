// The tracing program types for the verifier: kprobe (struct pt_regs), tracepoint, raw_tracepoint (and writable), perf_event and syscall contexts (kernel/trace/bpf_trace.c, kernel/bpf/syscall.c).
//
// Their contexts are kernel data with no userspace meaning, so bpfkit verifies these programs
// but does not run them. Layouts are x86-64's (the running kernel's architecture).

import { helperAllowed } from '../isa/helpers.js';
import type { ProgramTypeName } from '../isa/program-types.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { CtxAccessCheck, ProgramTypeOps } from './program-type-ops.js';
import { invalidCtxAccess } from './sk-buff.js';

/** sizeof(struct pt_regs) on x86-64: 21 registers of 8 bytes. */
export const PT_REGS_SIZE = 168;
/** PERF_MAX_TRACE_SIZE: the largest tracepoint record a tracepoint program may read. */
export const PERF_MAX_TRACE_SIZE = 8192;
/** MAX_BPF_FUNC_ARGS: a raw tracepoint's context is an array of that many u64 arguments. */
export const MAX_BPF_FUNC_ARGS = 12;
/** sizeof(struct bpf_perf_event_data): pt_regs, then sample_period and addr (u64 each). */
export const BPF_PERF_EVENT_DATA_SIZE = PT_REGS_SIZE + 16;

/** kprobe_prog_is_valid_access: aligned loads inside struct pt_regs. */
export function kprobeCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  if (off < 0 || off >= PT_REGS_SIZE || write || off % size !== 0 || off + size > PT_REGS_SIZE) return invalidCtxAccess(off, size);
  return { field: `regs+${off}`, type: 'scalar' };
}

/**
 * tp_prog_is_valid_access: aligned loads past the record's first 8 (private) bytes, below
 * PERF_MAX_TRACE_SIZE. The kernel compares `off < sizeof(void *)` unsigned, so an aligned
 * negative offset passes (checked against the kernel: a load at -4 is accepted).
 */
export function tracepointCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  if (off >>> 0 < 8 || off >= PERF_MAX_TRACE_SIZE || write || off % size !== 0) return invalidCtxAccess(off, size);
  return { field: `record+${off}`, type: 'scalar' };
}

/** raw_tp_prog_is_valid_access (bpf_tracing_ctx_access): aligned loads of the u64 argument array. */
export function rawTracepointCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  if (off < 0 || off >= 8 * MAX_BPF_FUNC_ARGS || write || off % size !== 0) return invalidCtxAccess(off, size);
  return { field: `args[${off >> 3}]`, type: 'scalar' };
}

/**
 * pe_prog_is_valid_access: loads only; sample_period and addr narrow (power-of-two sizes),
 * everything else (the registers) as whole 8-byte longs.
 */
export function perfEventCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (off < 0 || off >= BPF_PERF_EVENT_DATA_SIZE || write || off % size !== 0) return deny;
  if (off >= PT_REGS_SIZE) {
    const name = off < PT_REGS_SIZE + 8 ? 'sample_period' : 'addr';
    return size <= 8 && (size & (size - 1)) === 0 ? { field: name, type: 'scalar' } : deny;
  }
  return size === 8 ? { field: `regs+${off}`, type: 'scalar' } : deny;
}

/**
 * raw_tp_writable_prog_is_valid_access: args[0] is the tracepoint's writable buffer (PTR_TO_TP_BUFFER,
 * read as 8 bytes), the other arguments as raw_tracepoint's; no stores into the context.
 */
export function rawTracepointWritableCheckAccess(off: number, size: number, write: boolean): CtxAccessCheck {
  if (off === 0) return size === 8 && !write ? { field: 'args[0]', type: 'tp_buffer' } : invalidCtxAccess(off, size);
  return rawTracepointCheckAccess(off, size, write);
}

/** U16_MAX: a syscall program's context (its ctx_in) may be up to this many bytes. */
export const SYSCALL_CTX_MAX = 65535;

/** syscall_prog_is_valid_access: any aligned load or store below U16_MAX; the bytes are the caller's ctx_in. */
export function syscallCheckAccess(off: number, size: number): CtxAccessCheck {
  if (off < 0 || off >= SYSCALL_CTX_MAX || off % size !== 0) return invalidCtxAccess(off, size);
  return { field: `+${off}`, type: 'scalar' };
}

function tracingOps(type: BpfProgType, name: ProgramTypeName, ctxSize: number, checkAccess: ProgramTypeOps['checkAccess']): ProgramTypeOps {
  return { type, name, ctxSize, checkAccess, helperAllowed: (id) => helperAllowed(id, name) };
}

/** BPF_PROG_TYPE_KPROBE: the context is the probed function's struct pt_regs. */
export const kprobeOps = tracingOps(BpfProgType.KPROBE, 'kprobe', PT_REGS_SIZE, kprobeCheckAccess);
/** BPF_PROG_TYPE_TRACEPOINT: the context is the tracepoint's record. */
export const tracepointOps = tracingOps(BpfProgType.TRACEPOINT, 'tracepoint', PERF_MAX_TRACE_SIZE, tracepointCheckAccess);
/** BPF_PROG_TYPE_RAW_TRACEPOINT: the context is the tracepoint's arguments as u64s. */
export const rawTracepointOps = tracingOps(BpfProgType.RAW_TRACEPOINT, 'raw_tracepoint', 8 * MAX_BPF_FUNC_ARGS, rawTracepointCheckAccess);
/** BPF_PROG_TYPE_PERF_EVENT: the context is struct bpf_perf_event_data. */
export const perfEventOps = tracingOps(BpfProgType.PERF_EVENT, 'perf_event', BPF_PERF_EVENT_DATA_SIZE, perfEventCheckAccess);
/** BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: raw_tracepoint's arguments, the first a buffer the program may write. */
export const rawTracepointWritableOps = tracingOps(BpfProgType.RAW_TRACEPOINT_WRITABLE, 'raw_tracepoint_writable', 8 * MAX_BPF_FUNC_ARGS, rawTracepointWritableCheckAccess);
/** BPF_PROG_TYPE_SYSCALL: the context is the memory the caller passed (BPF_PROG_TEST_RUN's ctx_in); helpers of tracing_prog_func_proto. */
export const syscallOps = tracingOps(BpfProgType.SYSCALL, 'syscall', SYSCALL_CTX_MAX, syscallCheckAccess);
