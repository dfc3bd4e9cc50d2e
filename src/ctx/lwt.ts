// The lightweight tunnel program types (lwt_in, lwt_out, lwt_xmit, lwt_seg6local): __sk_buff access rules (lwt_is_valid_access), helper sets, and test run.
//
// BPF_PROG_TEST_RUN builds lwt_in/out/xmit skbs as for a socket filter (skb->data at the network
// header, data_out with 14 zeroed bytes in front) but with direct packet access; lwt_xmit's skb
// also carries the IPv6 null route as its dst. lwt_seg6local has no test run in the kernel
// (BPF_PROG_TEST_RUN answers ENOTSUPP), so its context refuses to run the same way.

import { NotSupportedError } from '../errors.js';
import { helperAllowed } from '../isa/helpers.js';
import type { ProgramTypeName } from '../isa/program-types.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { CtxAccessCheck, RunInput, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess, SkBuff, SK_BUFF_SIZE, skbIsValidAccess } from './sk-buff.js';
import { SkbContext, type SkbContextOptions } from './skb-context.js';

const within = (off: number, start: number, width = 4): boolean => off >= start && off < start + width;

/**
 * lwt_is_valid_access: tc_classid, the socket fields (family..local_port), data_meta, tstamp,
 * wire_len and hwtstamp refused; stores only to mark, priority and cb[]; data and data_end load
 * as packet pointers; the rest as bpf_skb_is_valid_access.
 */
export function lwtCheckAccess(off: number, size: number, write: boolean, signExtend = false): CtxAccessCheck {
  const refused =
    within(off, SkBuff.tc_classid) ||
    (off >= SkBuff.family && off < SkBuff.local_port + 4) ||
    within(off, SkBuff.data_meta) ||
    within(off, SkBuff.tstamp, 8) ||
    within(off, SkBuff.wire_len) ||
    within(off, SkBuff.hwtstamp, 8);
  if (refused) return invalidCtxAccess(off, size);
  if (write && !(within(off, SkBuff.mark) || within(off, SkBuff.priority) || within(off, SkBuff.cb, 20))) return invalidCtxAccess(off, size);
  return skbIsValidAccess(off, size, write, { data: 'pkt', data_end: 'pkt_end' }, signExtend);
}

/** An lwt_seg6local context: the kernel has no test run for the type (its prog ops lack test_run). */
class NoTestRunSkbContext extends SkbContext {
  override setup(input: RunInput): number {
    void input;
    throw new NotSupportedError('BPF_PROG_TEST_RUN of lwt_seg6local programs', undefined, 'the kernel has no test run for this type (ENOTSUPP)');
  }
}

function lwtOps(type: BpfProgType, name: ProgramTypeName, runnable = true): RunnableProgramType & { createContext(space: AddressSpace, options?: SkbContextOptions): SkbContext } {
  return {
    type,
    name,
    ctxSize: SK_BUFF_SIZE,
    checkAccess: lwtCheckAccess,
    helperAllowed: (id) => helperAllowed(id, name),
    createContext: (space, options) => (runnable ? new SkbContext(space, 'socket_filter', options) : new NoTestRunSkbContext(space, 'socket_filter', options)),
  };
}

/** BPF_PROG_TYPE_LWT_IN: routes' input path (lwt_in_func_proto: lwt_out's helpers and bpf_lwt_push_encap). */
export const lwtInOps = lwtOps(BpfProgType.LWT_IN, 'lwt_in');
/** BPF_PROG_TYPE_LWT_OUT: routes' output path (lwt_out_func_proto). */
export const lwtOutOps = lwtOps(BpfProgType.LWT_OUT, 'lwt_out');
/** BPF_PROG_TYPE_LWT_XMIT: the transmit path, which may rewrite and redirect the packet (lwt_xmit_func_proto). */
export const lwtXmitOps = lwtOps(BpfProgType.LWT_XMIT, 'lwt_xmit');
/** BPF_PROG_TYPE_LWT_SEG6LOCAL: seg6local End.BPF actions; verified like the others, not test-runnable (nor in the kernel). */
export const lwtSeg6localOps = lwtOps(BpfProgType.LWT_SEG6LOCAL, 'lwt_seg6local', false);
