// The flow_dissector program type: __sk_buff access rules (flow_dissector_is_valid_access), helper set, and test run (bpf_prog_test_run_flow_dissector).
//
// The program sees struct bpf_flow_dissector through __sk_buff offsets: data and data_end (the
// frame, read-only) and flow_keys (a pointer to struct bpf_flow_keys, which the program fills
// in). A test run zeroes the keys, sets n_proto to the frame's EtherType (network order), nhoff
// and thoff to ETH_HLEN and flags from ctx_in, runs the program, clamps nhoff and thoff into the
// frame, and returns the keys as data_out; ctx_out echoes ctx_in. The test run has no skb, so
// bpf_skb_load_bytes fails with -EFAULT (and zeroes the buffer) there.

import { helperAllowed } from '../isa/helpers.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace, Region } from '../vm/address-space.js';
import { InvalidContextError } from '../vm/errors.js';
import type { ContextInstance, CtxAccessCheck, RunInput, RunnableProgramType } from './program-type-ops.js';
import { invalidCtxAccess, SkBuff, SK_BUFF_SIZE } from './sk-buff.js';

/** sizeof(struct bpf_flow_keys). */
export const BPF_FLOW_KEYS_SIZE = 56;

/** Field offsets of struct bpf_flow_keys (include/uapi/linux/bpf.h). */
export const BpfFlowKeys = {
  nhoff: 0,
  thoff: 2,
  addr_proto: 4,
  is_frag: 6,
  is_first_frag: 7,
  is_encap: 8,
  ip_proto: 9,
  n_proto: 10,
  sport: 12,
  dport: 14,
  ipv4_src: 16,
  ipv4_dst: 20,
  ipv6_src: 16,
  ipv6_dst: 32,
  flags: 48,
  flow_label: 52,
} as const;

/** `BPF_FLOW_DISSECTOR_F_*`: flags a test run's ctx_in may set. */
export const BpfFlowDissectorFlags = { PARSE_1ST_FRAG: 1, STOP_AT_FLOW_LABEL: 2, STOP_AT_ENCAP: 4 } as const;

const ETH_HLEN = 14;
/** The largest data_in bpf_test_init takes for a flow dissector run (a page, no head- or tailroom). */
export const FLOW_DISSECTOR_MAX_DATA = 4096;

/**
 * flow_dissector_is_valid_access: only loads; data and data_end as 4-byte packet pointers (no
 * sign-extending loads), flow_keys as an 8-byte pointer to struct bpf_flow_keys; every other
 * __sk_buff field refused.
 */
export function flowDissectorCheckAccess(off: number, size: number, write: boolean, signExtend = false): CtxAccessCheck {
  const deny = invalidCtxAccess(off, size);
  if (off < 0 || off >= SK_BUFF_SIZE || off % size !== 0 || write) return deny;
  if (off >= SkBuff.data && off < SkBuff.data + 4) return signExtend || size !== 4 ? deny : { field: 'data', type: 'pkt' };
  if (off >= SkBuff.data_end && off < SkBuff.data_end + 4) return signExtend || size !== 4 ? deny : { field: 'data_end', type: 'pkt_end' };
  if (off >= SkBuff.flow_keys && off < SkBuff.flow_keys + 8) return size !== 8 ? deny : { field: 'flow_keys', type: 'flow_keys' };
  return deny;
}

/** The flow dissector context of one address space: the ctx (served by a load hook), the frame and the flow keys. */
export class FlowDissectorContext implements ContextInstance {
  /** The __sk_buff-shaped ctx region (read-only: every field comes from the load hook). */
  readonly ctx: Region;
  /** The frame (read-only to the program). */
  readonly packet: Region;
  /** struct bpf_flow_keys. */
  readonly keys: Region;
  private ctxIn = new Uint8Array(BPF_FLOW_KEYS_SIZE);
  private len = 0;

  constructor(private readonly space: AddressSpace) {
    this.ctx = space.addRegion('ctx', SK_BUFF_SIZE, { kind: 'ctx', writable: false });
    this.packet = space.addRegion('packet', FLOW_DISSECTOR_MAX_DATA, { kind: 'packet', writable: false });
    this.keys = space.addRegion('flow_keys', BPF_FLOW_KEYS_SIZE, { kind: 'other' });
    const hi = (addr: number): number => Math.floor(addr / 4294967296) | 0;
    space.setLoadHook(this.ctx, (offset, size, out) => {
      let addr: number;
      if (offset === SkBuff.data && size === 4) addr = this.packet.address();
      else if (offset === SkBuff.data_end && size === 4) addr = this.packet.address() + this.len;
      else if (offset === SkBuff.flow_keys && size === 8) addr = this.keys.address();
      else return false;
      out[0] = addr | 0;
      out[1] = hi(addr);
      return true;
    });
  }

  /**
   * Sets up a run as bpf_prog_test_run_flow_dissector does: data_in of ETH_HLEN to a page of
   * bytes; a ctx_in (struct bpf_flow_keys) whose only non-zero field is flags, bytes past it zero.
   * Anything else throws InvalidContextError (the kernel's EINVAL / E2BIG).
   */
  setup(input: RunInput): number {
    const frame = input.data;
    if (frame.length < ETH_HLEN) throw new InvalidContextError('data', `data_in of ${frame.length} bytes is shorter than an Ethernet header`);
    if (frame.length > FLOW_DISSECTOR_MAX_DATA) throw new InvalidContextError('data', `data_in of ${frame.length} bytes exceeds ${FLOW_DISSECTOR_MAX_DATA}`);
    const ctxIn = new Uint8Array(BPF_FLOW_KEYS_SIZE);
    if (input.ctxIn) {
      if (input.ctxIn.length > BPF_FLOW_KEYS_SIZE && input.ctxIn.subarray(BPF_FLOW_KEYS_SIZE).some((x) => x !== 0)) {
        throw new InvalidContextError('(tail)', `bytes past sizeof(struct bpf_flow_keys) = ${BPF_FLOW_KEYS_SIZE} must be zero (E2BIG)`);
      }
      ctxIn.set(input.ctxIn.subarray(0, BPF_FLOW_KEYS_SIZE));
      if (ctxIn.subarray(0, BpfFlowKeys.flags).some((x) => x !== 0)) throw new InvalidContextError('nhoff..ipv6_dst', 'must be zero in ctx_in');
      if (ctxIn.subarray(BpfFlowKeys.flow_label).some((x) => x !== 0)) throw new InvalidContextError('flow_label', 'must be zero in ctx_in');
    }
    this.ctxIn = ctxIn;
    const mem = this.space.memory.bytes;
    this.packet.setWindow(0, frame.length);
    mem.set(frame, this.packet.base);
    this.len = frame.length;
    // bpf_flow_dissect: the keys start zeroed with the parameters of the dissection.
    const k = this.keys.start;
    mem.fill(0, k, k + BPF_FLOW_KEYS_SIZE);
    const v = this.space.memory.view;
    v.setUint16(k + BpfFlowKeys.nhoff, ETH_HLEN, true);
    v.setUint16(k + BpfFlowKeys.thoff, ETH_HLEN, true);
    mem.set(frame.subarray(12, 14), k + BpfFlowKeys.n_proto);
    mem.set(ctxIn.subarray(BpfFlowKeys.flags, BpfFlowKeys.flags + 4), k + BpfFlowKeys.flags);
    return this.ctx.address();
  }

  /** data_out: struct bpf_flow_keys after the run, nhoff clamped to [ETH_HLEN, len] and thoff to [nhoff, len] (as u16s). */
  dataOut(): Uint8Array {
    const v = this.space.memory.view;
    const k = this.keys.start;
    const hlen = Math.min(this.len, 0xffff);
    const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
    const nhoff = clamp(v.getUint16(k + BpfFlowKeys.nhoff, true), ETH_HLEN, hlen);
    v.setUint16(k + BpfFlowKeys.nhoff, nhoff, true);
    v.setUint16(k + BpfFlowKeys.thoff, clamp(v.getUint16(k + BpfFlowKeys.thoff, true), nhoff, hlen), true);
    return this.space.memory.bytes.slice(k, k + BPF_FLOW_KEYS_SIZE);
  }

  /** ctx_out: ctx_in as given (struct bpf_flow_keys, zero-padded; zeroes when none was given). */
  ctxOut(): Uint8Array {
    return this.ctxIn.slice();
  }
}

/** BPF_PROG_TYPE_FLOW_DISSECTOR. */
export const flowDissectorOps: RunnableProgramType & { createContext(space: AddressSpace): FlowDissectorContext } = {
  type: BpfProgType.FLOW_DISSECTOR,
  name: 'flow_dissector',
  ctxSize: SK_BUFF_SIZE,
  checkAccess: flowDissectorCheckAccess,
  helperAllowed: (id) => helperAllowed(id, 'flow_dissector'),
  createContext: (space) => new FlowDissectorContext(space),
};
