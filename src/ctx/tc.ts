// The sched_cls (tc) program type: __sk_buff access rules (tc_cls_act_is_valid_access), helper set, and test run.

import { helperAllowed } from '../isa/helpers.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { CtxAccessCheck, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess, SkBuff, SK_BUFF_SIZE, skbIsValidAccess } from './sk-buff.js';
import { SkbContext, type SkbContextOptions } from './skb-context.js';

const within = (off: number, start: number, width = 4): boolean => off >= start && off < start + width;

/** The __sk_buff fields a tc program may store to. */
const TC_WRITABLE: readonly (readonly [number, number])[] = [
  [SkBuff.mark, 4],
  [SkBuff.tc_index, 4],
  [SkBuff.priority, 4],
  [SkBuff.tc_classid, 4],
  [SkBuff.cb, 20],
  [SkBuff.tstamp, 8],
  [SkBuff.queue_mapping, 4],
];

/**
 * tc_cls_act_is_valid_access: stores only to mark, tc_index, priority, tc_classid, cb[],
 * tstamp and queue_mapping; data/data_meta/data_end load as packet pointers; the socket
 * fields (family..local_port) are refused; tstamp_type is a 1-byte load; the rest as
 * bpf_skb_is_valid_access.
 */
export function tcCheckAccess(off: number, size: number, write: boolean, signExtend = false): CtxAccessCheck {
  if (write && !TC_WRITABLE.some(([start, width]) => within(off, start, width))) return invalidCtxAccess(off, size);
  if (off >= SkBuff.family && off < SkBuff.local_port + 4) return invalidCtxAccess(off, size);
  if (off === SkBuff.tstamp_type) return size === 1 ? { field: 'tstamp_type', type: 'scalar' } : invalidCtxAccess(off, size);
  return skbIsValidAccess(off, size, write, { data: 'pkt', data_end: 'pkt_end', data_meta: 'pkt_meta' }, signExtend);
}

/** BPF_PROG_TYPE_SCHED_CLS. */
export const tcOps: RunnableProgramType & { createContext(space: AddressSpace, options?: SkbContextOptions): SkbContext } = {
  type: BpfProgType.SCHED_CLS,
  name: 'sched_cls',
  ctxSize: SK_BUFF_SIZE,
  checkAccess: tcCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'sched_cls'),
  createContext: (space, options) => new SkbContext(space, 'tc', options),
};

/** BPF_PROG_TYPE_SCHED_ACT: a tc action — the same context, rules, helpers and test run as sched_cls. */
export const tcActOps: RunnableProgramType & { createContext(space: AddressSpace, options?: SkbContextOptions): SkbContext } = {
  type: BpfProgType.SCHED_ACT,
  name: 'sched_act',
  ctxSize: SK_BUFF_SIZE,
  checkAccess: tcCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'sched_act'),
  createContext: (space, options) => new SkbContext(space, 'tc', options),
};
