// The helper set with kernel semantics: one table for every program type src/ctx models.

import { helperById } from '../../isa/helpers.js';
import type { HelperFn, HelperTable } from '../../vm/helpers.js';
import type { ProgramTypeOps } from '../program-type-ops.js';
import { baseHelpers } from './base-helpers.js';
import { callbackHelpers } from './callback-helpers.js';
import { csumDiffHelpers } from './csum-diff.js';
import type { HelperEnv } from './env.js';
import { fibHelpers } from './fib.js';
import { mapHelpers } from './map-helpers.js';
import { perfOutputHelpers } from './perf-output.js';
import { ringbufHelpers } from './ringbuf-helpers.js';
import { skbHelpers } from './skb-helpers.js';
import { skbMiscHelpers } from './skb-misc-helpers.js';
import { skbRoomHelpers } from './skb-room-helpers.js';
import { xdpHelpers } from './xdp-helpers.js';

export * from './env.js';
export { fibLookup, FibLookup, FIB_LOOKUP_SIZE, type FibDevice, type FibNeighbour, type FibRoute, type FibTable } from './fib.js';
export { progArrayTailCalls } from './tail-calls.js';
export { formatTracePrintk, MAX_BPRINTF_BUF, type TracePrintkResult } from './trace-printk.js';

/**
 * Every helper bpfkit implements, bound to `env`; with `type`, only those the kernel lets that
 * program type call (so a call outside the type's set fails at prepare time, naming the helper,
 * as the kernel's verifier would refuse it). bpf_tail_call is served by the interpreter's
 * TailCallHook, not by this table.
 */
export function createHelpers(env: HelperEnv, type?: ProgramTypeOps): HelperTable & { readonly size: number; keys(): IterableIterator<number> } {
  const all = new Map<number, HelperFn>([...baseHelpers(env), ...mapHelpers(env), ...ringbufHelpers(env), ...csumDiffHelpers(), ...xdpHelpers(env), ...skbHelpers(env), ...skbMiscHelpers(env), ...skbRoomHelpers(env), ...fibHelpers(env), ...callbackHelpers(env), ...perfOutputHelpers(env)]);
  if (type) for (const id of [...all.keys()]) if (!type.helperAllowed(id)) all.delete(id);
  return all;
}

/** `bpf_map_lookup_elem` for an id, `helper 12345` for an unknown one: for messages. */
export function helperLabel(id: number): string {
  const h = helperById(id);
  return h ? `bpf_${h.name}` : `helper ${id}`;
}
