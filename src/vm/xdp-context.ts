// A minimal XDP context: struct xdp_md over a packet region, as BPF_PROG_TEST_RUN sets it up.
//
// The kernel rewrites loads of xdp_md.data / data_end / data_meta into 64-bit loads of the
// xdp_buff's pointers; here a load hook on the read-only ctx region serves those three fields
// with the packet region's addresses. The full program-type layer (src/ctx) replaces this.

import { type AddressSpace, type Region } from './address-space.js';
import { InvalidContextError } from './errors.js';

/** XDP_PACKET_HEADROOM: bytes before the packet that bpf_xdp_adjust_head/meta can claim. */
export const XDP_PACKET_HEADROOM = 256;
/** Tailroom the kernel leaves for skb_shared_info on x86-64. */
export const XDP_TAILROOM = 320;
/** sizeof(struct xdp_md). */
export const XDP_MD_SIZE = 24;

/** Field offsets of struct xdp_md. */
export const XdpMd = { data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20 } as const;

/** The XDP context of one address space: a ctx region and a packet region, reused across runs. */
export class XdpContext {
  /** The xdp_md region (read-only; data/data_end/data_meta loads are rewritten). */
  readonly ctx: Region;
  private packetRegion: Region | undefined;
  /** Memory offsets of data_meta, data and data_end in the packet region. */
  dataMeta = 0;
  /** See dataMeta. */
  data = 0;
  /** See dataMeta. */
  dataEnd = 0;

  constructor(private readonly space: AddressSpace) {
    this.ctx = space.addRegion('ctx', XDP_MD_SIZE, { kind: 'ctx', writable: false });
    space.setLoadHook(this.ctx, (offset, size, out) => {
      if (size !== 4 || this.packetRegion === undefined) return false;
      const region = this.packetRegion;
      let at: number;
      if (offset === XdpMd.data) at = this.data;
      else if (offset === XdpMd.data_end) at = this.dataEnd;
      else if (offset === XdpMd.data_meta) at = this.dataMeta;
      else return false;
      out[0] = at;
      out[1] = Math.floor(region.address() / 4294967296);
      return true;
    });
  }

  /** The packet region of the current run. */
  get packet(): Region {
    if (!this.packetRegion) throw new InvalidContextError('data', 'no packet has been set up');
    return this.packetRegion;
  }

  /**
   * Sets up a run, as bpf_prog_test_run_xdp does: `packet` goes after XDP_PACKET_HEADROOM bytes
   * of headroom; with `ctxIn`, its `data` field says how many leading bytes of `packet` are
   * metadata, `data_end` must equal the packet length and `data_meta`/`egress_ifindex` must be 0
   * (else InvalidContextError, the kernel's EINVAL). Returns the ctx pointer for r1.
   */
  setup(packet: Uint8Array, ctxIn?: Uint8Array): number {
    const md = new Uint8Array(XDP_MD_SIZE);
    let meta = 0;
    if (ctxIn) {
      if (ctxIn.length > XDP_MD_SIZE && ctxIn.subarray(XDP_MD_SIZE).some((x) => x !== 0)) {
        throw new InvalidContextError('(tail)', `bytes past sizeof(struct xdp_md) = ${XDP_MD_SIZE} must be zero`);
      }
      md.set(ctxIn.subarray(0, XDP_MD_SIZE));
      const v = new DataView(md.buffer);
      const field = (f: keyof typeof XdpMd): number => v.getUint32(XdpMd[f], true);
      if (field('data_meta') !== 0) throw new InvalidContextError('data_meta', 'must be 0');
      if (field('egress_ifindex') !== 0) throw new InvalidContextError('egress_ifindex', 'must be 0');
      if (field('data_end') !== packet.length) throw new InvalidContextError('data_end', `must equal the packet length ${packet.length}, got ${field('data_end')}`);
      meta = field('data');
      if (meta > packet.length) throw new InvalidContextError('data', `metadata length ${meta} exceeds the packet length ${packet.length}`);
      if (meta > XDP_PACKET_HEADROOM) throw new InvalidContextError('data', `metadata length ${meta} exceeds the headroom`);
    }
    const capacity = XDP_PACKET_HEADROOM + packet.length - meta + XDP_TAILROOM;
    if (!this.packetRegion || this.packetRegion.capacity < capacity) {
      this.packetRegion = this.space.addRegion('packet', 0, { kind: 'packet', before: capacity });
    }
    const region = this.packetRegion;
    region.blockBytes().fill(0);
    const from = XDP_PACKET_HEADROOM - meta;
    region.setWindow(from, from + packet.length);
    region.bytes().set(packet);
    this.dataMeta = region.start;
    this.data = region.start + meta;
    this.dataEnd = region.end;
    this.space.memory.bytes.set(md, this.ctx.start);
    return this.ctx.address();
  }

  /** The packet after the run: data_meta..data_end, as the kernel's data_out. */
  packetOut(): Uint8Array {
    return this.space.memory.bytes.slice(this.dataMeta, this.dataEnd);
  }

  /** The context after the run, as the kernel's ctx_out: data/data_end relative to data_meta. */
  ctxOut(): Uint8Array {
    const md = this.space.memory.bytes.slice(this.ctx.start, this.ctx.start + XDP_MD_SIZE);
    const v = new DataView(md.buffer);
    v.setUint32(XdpMd.data, this.data - this.dataMeta, true);
    v.setUint32(XdpMd.data_end, this.dataEnd - this.dataMeta, true);
    v.setUint32(XdpMd.data_meta, 0, true);
    return md;
  }
}
