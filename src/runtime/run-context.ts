// The context a program runs with (ctx struct + packet regions), per program type, behind one interface.

import { BpfProgType } from '../isa/uapi.generated.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { SkbData } from '../vm/interpreter.js';
import { XdpContext, XdpMd, XDP_MD_SIZE } from '../vm/xdp-context.js';
import { InstantiateError } from './errors.js';

/** Where a packet came from, for the context fields that say so (XDP's ingress_ifindex, rx_queue_index). */
export interface PacketOrigin {
  /** Interface index the packet arrived on (0: none). */
  readonly ifindex: number;
  /** Receive queue it arrived on. */
  readonly rxQueue: number;
}

/** One program's context in an address space, reused across runs. */
export interface RunContext {
  /** Sets up a run as BPF_PROG_TEST_RUN does (ctx_in validated); returns the ctx pointer for r1. */
  setup(data: Uint8Array, ctxIn: Uint8Array | undefined): number;
  /**
   * Sets up a run for a packet from a capture, with the context fields a NIC would fill
   * (`origin`), without building a ctx_in per packet.
   */
  setupPacket(data: Uint8Array, origin: PacketOrigin): number;
  /** data_out after the run, a copy. */
  dataOut(): Uint8Array;
  /** ctx_out after the run, in the kernel's layout. */
  ctxOut(): Uint8Array;
  /** Where LD_ABS/LD_IND read (skb program types), or undefined. */
  skb(): SkbData | undefined;
}

/** The XDP context: struct xdp_md over a packet with the kernel's headroom and tailroom. */
class XdpRunContext implements RunContext {
  private readonly xdp: XdpContext;
  private readonly md = new Uint8Array(XDP_MD_SIZE);
  private readonly mdView = new DataView(this.md.buffer);

  constructor(space: AddressSpace) {
    this.xdp = new XdpContext(space);
  }
  setup(data: Uint8Array, ctxIn: Uint8Array | undefined): number {
    return this.xdp.setup(data, ctxIn);
  }
  setupPacket(data: Uint8Array, origin: PacketOrigin): number {
    const v = this.mdView;
    v.setUint32(XdpMd.data_end, data.length, true);
    v.setUint32(XdpMd.ingress_ifindex, origin.ifindex, true);
    v.setUint32(XdpMd.rx_queue_index, origin.rxQueue, true);
    return this.xdp.setup(data, this.md);
  }
  dataOut(): Uint8Array {
    return this.xdp.packetOut();
  }
  ctxOut(): Uint8Array {
    return this.xdp.ctxOut();
  }
  skb(): SkbData | undefined {
    return undefined;
  }
}

/**
 * Creates the context of program type `type` in `space`. Throws InstantiateError for a type
 * the userspace runtime cannot run.
 */
export function createRunContext(type: number, space: AddressSpace, program: string): RunContext {
  if (type === BpfProgType.XDP) return new XdpRunContext(space);
  throw new InstantiateError(`program "${program}"`, `program type ${type} cannot run in userspace yet (XDP can)`);
}
