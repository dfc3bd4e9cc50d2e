// The helper set with kernel semantics: one table for every program type src/ctx models.

import { helperById, helperByName } from '../../isa/helpers.js';
import { BpfProgType } from '../../isa/uapi.generated.js';
import { type HelperFn, type HelperTable, unmodelledCall } from '../../vm/helpers.js';
import type { ProgramTypeOps } from '../program-type-ops.js';
import { baseHelpers } from './base-helpers.js';
import { callbackHelpers } from './callback-helpers.js';
import { csumDiffHelpers } from './csum-diff.js';
import type { HelperEnv } from './env.js';
import { fibHelpers } from './fib.js';
import { mapHelpers } from './map-helpers.js';
import { perfOutputHelpers } from './perf-output.js';
import { REFUSED_HELPERS } from './refused.js';
import { ringbufHelpers } from './ringbuf-helpers.js';
import { skbHelpers } from './skb-helpers.js';
import { skbMiscHelpers } from './skb-misc-helpers.js';
import { skbRoomHelpers } from './skb-room-helpers.js';
import { socketHelpers, xdpSocketHelpers } from './socket-lookup.js';
import { cgroupIdHelpers } from './cgroup-id.js';
import { pidnsHelpers } from './pidns.js';
import { probeReadHelpers } from './probe-read.js';
import { strtolHelpers } from './strtol.js';
import { tracePrintkHelpers } from './trace-printk.js';
import { tunnelHelpers } from './tunnel.js';
import { xdpHelpers } from './xdp-helpers.js';
import { userRingbufHelpers } from './user-ringbuf-helpers.js';
import { localStorageHelpers } from './local-storage-helpers.js';
import { skStorageHelpers } from './sk-storage-helpers.js';
import { currentTaskHelpers } from './task-struct.js';
import { progTypeHelpers } from './progtype-helpers.js';

export * from './env.js';
export { fibLookup, FibLookup, FIB_LOOKUP_SIZE, type FibDevice, type FibNeighbour, type FibRoute, type FibTable } from './fib.js';
export { progArrayTailCalls } from './tail-calls.js';
export { formatTracePrintk, MAX_BPRINTF_BUF, MAX_BPRINTF_VARARGS, type TracePrintkResult } from './trace-printk.js';
export { checkKernelStructRead, KernelStructFieldError } from './task-struct.js';
export { HelperRefusedError, REFUSED_HELPERS, refusedReason } from './refused.js';
export { BpfTcpSock, BPF_TCP_SOCK_SIZE, TCP_SOCK_DEFAULTS } from './socket-lookup.js';
export { BpfTunnelKey, currentTunnel, TUNNEL_KEY_SIZE } from './tunnel.js';

/**
 * A helper table built by {@link createHelpers}: the implemented helpers, and for the refused
 * ones a stand-in that faults when a run reaches the call (UnmodelledCallError, naming the
 * helper and why).
 */
export class HelperSet implements HelperTable {
  private readonly standIns = new Map<number, HelperFn>();

  constructor(
    private readonly fns: ReadonlyMap<number, HelperFn>,
    private readonly refused: ReadonlyMap<number, string>,
  ) {}

  /** Number of implemented helpers. */
  get size(): number {
    return this.fns.size;
  }

  /** Ids of the implemented helpers. */
  keys(): IterableIterator<number> {
    return this.fns.keys();
  }

  /** Whether helper `id` is implemented. */
  has(id: number): boolean {
    return this.fns.has(id);
  }

  /** Why helper `id` is refused in userspace, or undefined when it is not. */
  refusal(id: number): string | undefined {
    return this.fns.has(id) ? undefined : this.refused.get(id);
  }

  /**
   * The helper with id `id`; undefined when the program type may not call it (the caller reports
   * UnknownHelperError); for a refused helper, a stand-in that throws UnmodelledCallError (the
   * call's pc, the helper and why) when a run reaches the call.
   */
  get(id: number): HelperFn | undefined {
    const fn = this.fns.get(id);
    if (fn) return fn;
    let s = this.standIns.get(id);
    if (s) return s;
    const reason = this.refused.get(id);
    if (reason === undefined) return undefined;
    s = unmodelledCall({ kind: 'helper', name: helperLabel(id), reason, helperId: id });
    this.standIns.set(id, s);
    return s;
  }
}

/**
 * Every helper bpfkit implements, bound to `env`; with `type`, only those the kernel lets that
 * program type call (so a call outside the type's set fails at prepare time, naming the helper,
 * as the kernel's verifier would refuse it). A helper refused in userspace (REFUSED_HELPERS)
 * is bound to a stand-in that throws UnmodelledCallError, with the reason, when a run reaches
 * the call: the program runs on every path that does not.
 * bpf_tail_call is served by the interpreter's TailCallHook, not by this table.
 */
export function createHelpers(env: HelperEnv, type?: ProgramTypeOps): HelperSet {
  const all = new Map<number, HelperFn>([...baseHelpers(env), ...mapHelpers(env), ...ringbufHelpers(env), ...csumDiffHelpers(), ...xdpHelpers(env), ...skbHelpers(env), ...skbMiscHelpers(env), ...skbRoomHelpers(env), ...fibHelpers(env), ...callbackHelpers(env), ...perfOutputHelpers(env), ...tracePrintkHelpers(env), ...strtolHelpers(), ...probeReadHelpers(), ...pidnsHelpers(env), ...cgroupIdHelpers(env), ...tunnelHelpers(env), ...socketHelpers(env), ...userRingbufHelpers(env), ...localStorageHelpers(env), ...skStorageHelpers(env), ...currentTaskHelpers(env)]);
  // XDP's socket lookups take the device from the xdp_buff and a u32 netns id.
  if (type?.type === BpfProgType.XDP) for (const [id, fn] of xdpSocketHelpers(env)) all.set(id, fn);
  if (type) for (const [id, fn] of progTypeHelpers(env, type.type)) all.set(id, fn);
  if (type) for (const id of [...all.keys()]) if (!type.helperAllowed(id)) all.delete(id);
  const refused = new Map<number, string>();
  for (const [name, reason] of Object.entries(REFUSED_HELPERS)) {
    const id = helperByName(name)?.id;
    if (id !== undefined && !all.has(id) && (!type || type.helperAllowed(id))) refused.set(id, reason);
  }
  return new HelperSet(all, refused);
}

/** `bpf_map_lookup_elem` for an id, `helper 12345` for an unknown one: for messages. */
export function helperLabel(id: number): string {
  const h = helperById(id);
  return h ? `bpf_${h.name}` : `helper ${id}`;
}
