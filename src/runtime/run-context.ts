// The context a program runs with (ctx struct + packet regions), per program type, behind one interface.

import type { ContextInstance, ContextOptions } from '../ctx/program-type-ops.js';
import { programTypeOps, userspaceTypeNames } from '../ctx/registry.js';
import { SkBuff } from '../ctx/sk-buff.js';
import { SkbContext } from '../ctx/skb-context.js';
import { XdpContext } from '../ctx/xdp-buff.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { SkbData } from '../vm/interpreter.js';
import { InstantiateError } from './errors.js';

/** Where a packet came from, for the context fields that say so (XDP's ingress_ifindex, rx_queue_index). */
export interface PacketOrigin {
  /** Interface index the packet arrived on. */
  readonly ifindex: number;
  /** Receive queue it arrived on. */
  readonly rxQueue: number;
}

/** One program's context in an address space, reused across runs. */
export interface RunContext {
  /** The program type's context instance (src/ctx). */
  readonly instance: ContextInstance;
  /** Sets up a run as BPF_PROG_TEST_RUN does (ctx_in validated, loopback only); returns the ctx pointer for r1. */
  setup(data: Uint8Array, ctxIn: Uint8Array | undefined): number;
  /**
   * Sets up a run for a packet as a NIC delivers it: the context says it arrived on
   * `origin.ifindex`, queue `origin.rxQueue` (a simulated multi-queue device, not checked
   * against the host's devices the way a test run's ctx_in is). XDP: ingress_ifindex and
   * rx_queue_index; skb types: ingress_ifindex, ifindex and queue_mapping = queue + 1 (what
   * skb_record_rx_queue stores on receive).
   */
  setupPacket(data: Uint8Array, origin: PacketOrigin): number;
  /** data_out after the run, a copy. */
  dataOut(): Uint8Array;
  /** ctx_out after the run, in the kernel's layout. */
  ctxOut(retval?: number): Uint8Array;
  /** Where LD_ABS/LD_IND read (skb program types), or undefined. */
  skb(): SkbData | undefined;
}

class ContextAdapter implements RunContext {
  /** Reused for every packet of a pipeline (no object per packet). */
  private readonly input: { data: Uint8Array } = { data: new Uint8Array(0) };
  constructor(readonly instance: ContextInstance) {}
  setup(data: Uint8Array, ctxIn: Uint8Array | undefined): number {
    return this.instance.setup(ctxIn ? { data, ctxIn } : { data });
  }
  setupPacket(data: Uint8Array, origin: PacketOrigin): number {
    // XDP: the page is set up once and only what a packet changes is written (XdpContext.deliver).
    if (this.instance instanceof XdpContext) return this.instance.deliver(data, origin.ifindex, origin.rxQueue);
    this.input.data = data;
    const r1 = this.instance.setup(this.input);
    if (this.instance instanceof SkbContext) {
      // An skb received on `ifindex`: the driver's skb_record_rx_queue() stores queue + 1.
      this.instance.setU32(SkBuff.ingress_ifindex, origin.ifindex);
      this.instance.setU32(SkBuff.ifindex, origin.ifindex);
      this.instance.setU32(SkBuff.queue_mapping, origin.rxQueue + 1);
    }
    return r1;
  }
  dataOut(): Uint8Array {
    return this.instance.dataOut();
  }
  ctxOut(retval?: number): Uint8Array {
    return this.instance.ctxOut(retval);
  }
  skb(): SkbData | undefined {
    return this.instance.skb?.();
  }
}

/**
 * Creates the context of program type `type` in `space` (src/ctx's program type ops). Throws
 * InstantiateError for a type the userspace runtime cannot run.
 */
export function createRunContext(type: number, space: AddressSpace, program: string, options: ContextOptions = {}): RunContext {
  const ops = programTypeOps(type);
  if (!ops) throw new InstantiateError(`program "${program}"`, `program type ${type} cannot run in userspace (these can: ${userspaceTypeNames()})`);
  return new ContextAdapter(ops.createContext(space, options));
}
