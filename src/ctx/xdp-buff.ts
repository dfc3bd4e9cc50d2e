// The XDP context at run time: struct xdp_md over an xdp_buff, as bpf_prog_test_run_xdp builds it.
//
// The frame is one 4096-byte page, as in net/bpf/test_run.c: XDP_PACKET_HEADROOM (256) bytes of
// headroom (less the metadata ctx_in asks for), the packet, and the skb_shared_info tailroom
// (320 bytes on x86-64) that no adjustment may reach. The kernel rewrites loads of
// xdp_md.data/data_end/data_meta into 64-bit loads of the xdp_buff's pointers and
// ingress_ifindex/rx_queue_index into loads through xdp->rxq; here a load hook on the read-only
// ctx region serves all six fields. bpf_xdp_adjust_head/tail/meta move the buffer's pointers
// with the kernel's bounds (the xdp_frame kept at the start of the headroom, ETH_HLEN, the
// metadata's 4-byte alignment and maximum).
//
// Multi-buffer frames: a packet longer than the linear part (the page less headroom and
// tailroom, or the ctx_in's data_end) continues in fragments, one page each, at most
// MAX_SKB_FRAGS, as the kernel's test run builds them. Direct packet access sees only the
// linear part; bpf_xdp_get_buff_len, bpf_xdp_load/store_bytes and bpf_xdp_adjust_tail reach the
// fragments (net/core/filter.c), and data_out is the linear part followed by every fragment.

import { type AddressSpace, type Region } from '../vm/address-space.js';
import { InvalidContextError } from '../vm/errors.js';
import type { ContextInstance, RunInput } from './program-type-ops.js';
import { type NetDevice, LOOPBACK } from './net-device.js';

/** XDP_PACKET_HEADROOM: bytes before the packet that bpf_xdp_adjust_head/meta can claim. */
export const XDP_PACKET_HEADROOM = 256;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64: tailroom no adjustment may reach. */
export const XDP_TAILROOM = 320;
/** The page an XDP test run's frame lives in (frame_sz). */
export const XDP_FRAME_SIZE = 4096;
/** sizeof(struct xdp_frame): kept at the start of the headroom, below which adjust_head/meta may not go. */
export const XDP_FRAME_STRUCT_SIZE = 40;
/** Largest linear packet a test run takes without metadata (the rest goes to fragments). */
export const XDP_MAX_LINEAR = XDP_FRAME_SIZE - XDP_PACKET_HEADROOM - XDP_TAILROOM;
/** Largest metadata length (skb_shared_info.meta_len is a u8; 4-byte aligned). */
export const XDP_METALEN_MAX = 252;
/** sizeof(struct xdp_md). */
export const XDP_MD_SIZE = 24;
/** MAX_SKB_FRAGS: fragments a multi-buffer frame may have. */
export const MAX_SKB_FRAGS = 17;
/** Bytes per fragment: one page (the test run's rxq frag_size). */
export const XDP_FRAG_SIZE = 4096;
/** ETH_HLEN: the smallest packet adjust_head/tail may leave. */
export const ETH_HLEN = 14;

/** Field offsets of struct xdp_md. */
export const XdpMd = { data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20 } as const;

/** xdp_metalen_invalid(): not 4-byte aligned, or longer than the u8 meta_len can say. */
export function xdpMetalenInvalid(metalen: number): boolean {
  return (metalen & 3) !== 0 || metalen > XDP_METALEN_MAX;
}

/** Options of an XDP context. */
export interface XdpContextOptions {
  /** Interfaces a ctx_in's ingress_ifindex may name (default: the loopback device, ifindex 1). */
  readonly devices?: (ifindex: number) => NetDevice | undefined;
}

/** The XDP context of one address space: a ctx region and a one-page packet region, reused across runs. */
export class XdpContext implements ContextInstance {
  /** The xdp_md region (read-only; every field load is served by a hook). */
  readonly ctx: Region;
  /** The page the frame lives in: the region's block is the whole page, its window data_meta..data_end. */
  readonly packet: Region;
  /** Memory offset of data_hard_start (the page). */
  readonly hardStart: number;
  // The six xdp_md fields live here and, for compiled code, in load cells (AddressSpace.loadCell):
  // every assignment goes through a setter that writes the cell, so the JIT's inline loads and
  // the interpreter's load hook always agree.
  #dataMeta = 0;
  #data = 0;
  #dataEnd = 0;
  #rxIfindex = LOOPBACK.ifindex;
  #rxQueue = 0;
  /** Load cells of data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex. */
  private readonly cells: readonly number[];
  /** High word of packet pointers (the packet region's tag). */
  private readonly packetHi: number;

  /** Memory offset of data_meta (equals `data` when there is no metadata). */
  get dataMeta(): number {
    return this.#dataMeta;
  }
  set dataMeta(v: number) {
    this.#dataMeta = v;
    this.writeCell(2, v, this.packetHi);
  }
  /** Memory offset of data. */
  get data(): number {
    return this.#data;
  }
  set data(v: number) {
    this.#data = v;
    this.writeCell(0, v, this.packetHi);
  }
  /** Memory offset of data_end. */
  get dataEnd(): number {
    return this.#dataEnd;
  }
  set dataEnd(v: number) {
    this.#dataEnd = v;
    this.writeCell(1, v, this.packetHi);
  }
  /** ingress_ifindex loads: the receive queue's device (loopback unless ctx_in names one). */
  get rxIfindex(): number {
    return this.#rxIfindex;
  }
  set rxIfindex(v: number) {
    this.#rxIfindex = v;
    this.writeCell(3, v, 0);
  }
  /** rx_queue_index loads. */
  get rxQueue(): number {
    return this.#rxQueue;
  }
  set rxQueue(v: number) {
    this.#rxQueue = v;
    this.writeCell(4, v, 0);
  }

  private writeCell(i: number, lo: number, hi: number): void {
    const v = this.space.memory.view; // re-fetched: the memory may have grown
    const cell = this.cells[i]!;
    v.setInt32(cell, lo, true);
    v.setInt32(cell + 4, hi, true);
  }
  /** The devices ctx_in and helpers may name by ifindex. */
  readonly devices: (ifindex: number) => NetDevice | undefined;
  /** Fragment pages (skb_shared_info.frags), reused across runs; the first `fragCount` are in use. */
  private readonly fragPages: Uint8Array[] = [];
  /** Bytes used in each fragment. */
  private readonly fragLens = new Int32Array(MAX_SKB_FRAGS);
  /** Memory offsets [low, high) of the page a run may have written (every window since the last zeroing). */
  private dirtyLow = 0;
  private dirtyHigh = 0;
  /** Whether the ctx region's bytes hold a ctx_in (ctxOut reads them): `deliver` zeroes them. */
  private ctxDirty = false;
  /** Fragments in use: 0 for a linear frame. */
  fragCount = 0;
  /** Bytes in all fragments (skb_shared_info.xdp_frags_size). */
  fragsSize = 0;

  constructor(
    private readonly space: AddressSpace,
    options: XdpContextOptions = {},
  ) {
    this.devices = options.devices ?? ((i) => (i === LOOPBACK.ifindex ? LOOPBACK : undefined));
    this.ctx = space.addRegion('ctx', XDP_MD_SIZE, { kind: 'ctx', writable: false });
    this.packet = space.addRegion('packet', 0, { kind: 'packet', before: XDP_FRAME_SIZE });
    this.hardStart = this.packet.base;
    this.packetHi = Math.floor(this.packet.address() / 4294967296);
    space.setLoadHook(this.ctx, (offset, size, out) => {
      if (size !== 4) return false;
      let v: number;
      if (offset === XdpMd.data) v = this.data;
      else if (offset === XdpMd.data_end) v = this.dataEnd;
      else if (offset === XdpMd.data_meta) v = this.dataMeta;
      else {
        if (offset === XdpMd.ingress_ifindex) out[0] = this.rxIfindex;
        else if (offset === XdpMd.rx_queue_index) out[0] = this.rxQueue;
        else if (offset === XdpMd.egress_ifindex) out[0] = 0;
        else return false;
        out[1] = 0;
        return true;
      }
      out[0] = v;
      out[1] = this.packetHi;
      return true;
    });
    const fields = [XdpMd.data, XdpMd.data_end, XdpMd.data_meta, XdpMd.ingress_ifindex, XdpMd.rx_queue_index, XdpMd.egress_ifindex];
    this.cells = fields.map((f) => space.loadCell(this.ctx, f));
    this.writeCell(5, 0, 0);
    this.rxIfindex = LOOPBACK.ifindex;
    this.rxQueue = 0;
  }

  /** Memory offset of the frame's hard end: no byte of the packet may lie past it. */
  get hardEnd(): number {
    return this.hardStart + XDP_FRAME_SIZE - XDP_TAILROOM;
  }

  /**
   * Sets up a run as bpf_prog_test_run_xdp does: the packet goes after the headroom; with a
   * ctx_in, `data` leading bytes are metadata (4-byte aligned, at most 252), `data_end` must
   * equal the packet length, `data_meta` and `egress_ifindex` must be 0, `rx_queue_index`
   * needs an `ingress_ifindex` naming a device with that queue. Anything else throws
   * InvalidContextError (the kernel's EINVAL / ENODEV). Returns the ctx pointer for r1.
   * `setup(packet, ctxIn)` is the older spelling of `setup({ data: packet, ctxIn })`.
   */
  setup(input: RunInput | Uint8Array, ctxIn?: Uint8Array): number {
    if (input instanceof Uint8Array) input = ctxIn ? { data: input, ctxIn } : { data: input };
    const packet = input.data;
    const md = new Uint8Array(XDP_MD_SIZE);
    let meta = 0;
    let ifindex = LOOPBACK.ifindex;
    let queue = 0;
    let linear = packet.length;
    ctxIn = input.ctxIn;
    if (ctxIn) {
      if (ctxIn.length > XDP_MD_SIZE && ctxIn.subarray(XDP_MD_SIZE).some((x) => x !== 0)) {
        throw new InvalidContextError('(tail)', `bytes past sizeof(struct xdp_md) = ${XDP_MD_SIZE} must be zero (E2BIG)`);
      }
      md.set(ctxIn.subarray(0, XDP_MD_SIZE));
      const v = new DataView(md.buffer);
      const field = (f: keyof typeof XdpMd): number => v.getUint32(XdpMd[f], true);
      if (field('data_meta') !== 0) throw new InvalidContextError('data_meta', 'must be 0');
      const dataEnd = field('data_end');
      if (dataEnd > packet.length) throw new InvalidContextError('data_end', `${dataEnd} exceeds the packet length ${packet.length}`);
      meta = field('data');
      if (meta > dataEnd) throw new InvalidContextError('data', `metadata length ${meta} exceeds data_end ${dataEnd}`);
      if (xdpMetalenInvalid(meta)) throw new InvalidContextError('data', `metadata length ${meta} must be a multiple of 4 and at most ${XDP_METALEN_MAX}`);
      if (XDP_PACKET_HEADROOM - meta < XDP_FRAME_STRUCT_SIZE) {
        throw new InvalidContextError('data', `metadata length ${meta} leaves less headroom than the ${XDP_FRAME_STRUCT_SIZE}-byte xdp_frame`);
      }
      // The bytes past data_end go to fragments (a non-linear xdp_buff).
      linear = dataEnd;
      if (field('egress_ifindex') !== 0) throw new InvalidContextError('egress_ifindex', 'must be 0');
      const inIf = field('ingress_ifindex');
      queue = field('rx_queue_index');
      if (inIf === 0 && queue !== 0) throw new InvalidContextError('rx_queue_index', 'needs an ingress_ifindex');
      if (inIf !== 0) {
        const dev = this.devices(inIf);
        if (!dev) throw new InvalidContextError('ingress_ifindex', `no device with ifindex ${inIf} (ENODEV)`);
        if (queue >= dev.rxQueues) throw new InvalidContextError('rx_queue_index', `device ${inIf} has ${dev.rxQueues} rx queues`);
        ifindex = inIf;
      }
    }
    if (packet.length < ETH_HLEN || packet.length - meta < ETH_HLEN) {
      throw new InvalidContextError('data', `the packet after the metadata is ${packet.length - meta} bytes, shorter than an Ethernet header`);
    }
    // The page less the headroom left after the metadata and the tailroom.
    linear = Math.min(linear, XDP_MAX_LINEAR + meta);
    const nFrags = Math.ceil((packet.length - linear) / XDP_FRAG_SIZE);
    if (nFrags > MAX_SKB_FRAGS) {
      throw new InvalidContextError('data', `${packet.length} bytes need ${nFrags} fragments past the ${linear}-byte linear part; at most ${MAX_SKB_FRAGS} (ENOMEM)`);
    }
    this.space.memory.bytes.fill(0, this.hardStart, this.hardStart + XDP_FRAME_SIZE);
    this.ctxDirty = ctxIn !== undefined;
    const from = XDP_PACKET_HEADROOM - meta;
    this.packet.setWindow(from, from + linear);
    this.space.memory.bytes.set(linear === packet.length ? packet : packet.subarray(0, linear), this.hardStart + from);
    this.dataMeta = this.hardStart + from;
    this.data = this.hardStart + XDP_PACKET_HEADROOM;
    this.dataEnd = this.dataMeta + linear;
    this.fragCount = nFrags;
    this.fragsSize = packet.length - linear;
    for (let i = 0, at = linear; i < nFrags; i++, at += XDP_FRAG_SIZE) {
      const page = (this.fragPages[i] ??= new Uint8Array(XDP_FRAG_SIZE));
      const len = Math.min(XDP_FRAG_SIZE, packet.length - at);
      page.set(packet.subarray(at, at + len));
      this.fragLens[i] = len;
    }
    this.rxIfindex = ifindex;
    this.rxQueue = queue;
    this.space.memory.bytes.set(md, this.ctx.start);
    this.dirtyLow = this.dataMeta;
    this.dirtyHigh = this.dataEnd;
    return this.ctx.address();
  }

  /**
   * Puts a frame in the context as a NIC delivers it (no ctx_in: no metadata, the loopback's
   * checks skipped): the same page contents, pointers and fields as `setup({ data })` followed by
   * setting `rxIfindex` / `rxQueue`, but it zeroes only the bytes the last run could have
   * written (its windows) instead of the whole page, and allocates nothing. Frames that need
   * fragments, and runts, go through `setup`. Returns the ctx pointer for r1.
   */
  deliver(packet: Uint8Array, ifindex: number, rxQueue: number): number {
    const len = packet.length;
    if (len < ETH_HLEN || len > XDP_MAX_LINEAR || this.fragCount !== 0) {
      const r1 = this.setup({ data: packet });
      this.rxIfindex = ifindex;
      this.rxQueue = rxQueue;
      return r1;
    }
    const mem = this.space.memory.bytes;
    mem.fill(0, this.dirtyLow, this.dirtyHigh);
    if (this.ctxDirty) {
      mem.fill(0, this.ctx.start, this.ctx.start + XDP_MD_SIZE);
      this.ctxDirty = false;
    }
    const data = this.hardStart + XDP_PACKET_HEADROOM;
    mem.set(packet, data);
    this.packet.setWindow(XDP_PACKET_HEADROOM, XDP_PACKET_HEADROOM + len);
    this.dataMeta = data;
    this.data = data;
    this.dataEnd = data + len;
    this.fragsSize = 0;
    if (this.#rxIfindex !== ifindex) this.rxIfindex = ifindex;
    if (this.#rxQueue !== rxQueue) this.rxQueue = rxQueue;
    this.dirtyLow = data;
    this.dirtyHigh = data + len;
    return this.ctx.address();
  }

  /** The load cells of xdp_md.data_end and rx_queue_index (memory offsets), which a batch driver writes per frame. */
  batchCells(): { readonly dataEnd: number; readonly rxQueue: number } {
    return { dataEnd: this.cells[1]!, rxQueue: this.cells[4]! };
  }

  /**
   * Prepares the page for a batch of linear frames that a driver copies to `data` itself
   * (src/jit/batch-driver.ts), the first `firstLen` bytes long: zeroes what the last run may
   * have dirtied (the whole page after a multi-buffer frame) and a ctx_in, as deliver does;
   * data_meta = data (no metadata). Returns the memory offset of data.
   */
  beginBatch(ifindex: number, firstLen: number): number {
    const mem = this.space.memory.bytes;
    if (this.fragCount !== 0) {
      mem.fill(0, this.hardStart, this.hardStart + XDP_FRAME_SIZE);
      this.fragCount = 0;
    } else mem.fill(0, this.dirtyLow, this.dirtyHigh);
    this.fragsSize = 0;
    if (this.ctxDirty) {
      mem.fill(0, this.ctx.start, this.ctx.start + XDP_MD_SIZE);
      this.ctxDirty = false;
    }
    const data = this.hardStart + XDP_PACKET_HEADROOM;
    this.packet.setWindow(XDP_PACKET_HEADROOM, XDP_PACKET_HEADROOM + firstLen);
    this.dataMeta = data;
    this.data = data;
    this.dataEnd = data + firstLen;
    if (this.#rxIfindex !== ifindex) this.rxIfindex = ifindex;
    this.dirtyLow = data;
    this.dirtyHigh = data + firstLen;
    return data;
  }

  /**
   * After a batch: the pointers, window and rx_queue_index as the last frame run (`len` bytes,
   * queue `rxQueue`) left them, and every byte up to `longest` past data counted as dirty.
   */
  endBatch(len: number, longest: number, rxQueue: number): void {
    this.packet.setWindow(XDP_PACKET_HEADROOM, XDP_PACKET_HEADROOM + len);
    this.dataEnd = this.data + len;
    this.rxQueue = rxQueue;
    this.dirtyHigh = this.data + Math.max(len, longest);
  }

  private syncWindow(): void {
    this.packet.setWindow(this.dataMeta - this.hardStart, this.dataEnd - this.hardStart);
    if (this.dataMeta < this.dirtyLow) this.dirtyLow = this.dataMeta;
    if (this.dataEnd > this.dirtyHigh) this.dirtyHigh = this.dataEnd;
  }

  /** bpf_xdp_adjust_head: 0 or -EINVAL (below the xdp_frame plus metadata, or fewer than ETH_HLEN bytes left). */
  adjustHead(offset: number): number {
    const metalen = this.data - this.dataMeta;
    const data = this.data + offset;
    if (data < this.hardStart + XDP_FRAME_STRUCT_SIZE + metalen || data > this.dataEnd - ETH_HLEN) return -22;
    const mem = this.space.memory.bytes;
    if (metalen) mem.copyWithin(this.dataMeta + offset, this.dataMeta, this.data);
    this.dataMeta += offset;
    this.data = data;
    this.syncWindow();
    return 0;
  }

  /**
   * bpf_xdp_adjust_tail: 0 or -EINVAL (past the frame's tailroom, or fewer than ETH_HLEN bytes).
   * Growth is zeroed. A multi-buffer frame grows its last fragment up to a page, and shrinks
   * from the last fragment back, freeing emptied ones and then the linear part.
   */
  adjustTail(offset: number): number {
    if (this.fragCount > 0) return offset < 0 ? this.shrinkFrags(-offset) : this.growLastFrag(offset);
    const end = this.dataEnd + offset;
    if (end > this.hardEnd || end < this.data + ETH_HLEN) return -22;
    if (offset > 0) this.space.memory.bytes.fill(0, this.dataEnd, end);
    this.dataEnd = end;
    this.syncWindow();
    return 0;
  }

  private growLastFrag(offset: number): number {
    const last = this.fragCount - 1;
    const used = this.fragLens[last]!;
    if (offset > XDP_FRAG_SIZE - used) return -22;
    this.fragPages[last]!.fill(0, used, used + offset);
    this.fragLens[last] = used + offset;
    this.fragsSize += offset;
    return 0;
  }

  private shrinkFrags(offset: number): number {
    if (offset > this.buffLen() - ETH_HLEN) return -22;
    while (this.fragCount > 0 && offset > 0) {
      const last = this.fragCount - 1;
      const cut = Math.min(offset, this.fragLens[last]!);
      this.fragLens[last] = this.fragLens[last]! - cut;
      this.fragsSize -= cut;
      offset -= cut;
      if (this.fragLens[last] !== 0) break;
      this.fragCount--;
    }
    if (this.fragCount === 0 && offset > 0) {
      // Every fragment freed: the rest comes off the linear part (bounded by the check above).
      this.dataEnd -= offset;
      this.syncWindow();
    }
    return 0;
  }

  /** xdp_get_buff_len: the linear part plus every fragment. */
  buffLen(): number {
    return this.dataEnd - this.data + this.fragsSize;
  }

  /**
   * Copies `len` bytes at packet offset `offset` (from `data`, across the linear part and the
   * fragments) to `buf[at..]`, or from there into the packet when `store`; the caller has
   * checked offset + len <= buffLen() (bpf_xdp_copy_buf).
   */
  copyBytes(offset: number, len: number, buf: Uint8Array, at: number, store: boolean): void {
    const mem = this.space.memory.bytes;
    const linear = this.dataEnd - this.data;
    if (offset < linear) {
      const n = Math.min(len, linear - offset);
      if (store) mem.set(buf.subarray(at, at + n), this.data + offset);
      else buf.set(mem.subarray(this.data + offset, this.data + offset + n), at);
      at += n;
      len -= n;
      offset = linear;
    }
    offset -= linear;
    for (let i = 0; i < this.fragCount && len > 0; i++) {
      const size = this.fragLens[i]!;
      if (offset >= size) {
        offset -= size;
        continue;
      }
      const n = Math.min(len, size - offset);
      const page = this.fragPages[i]!;
      if (store) page.set(buf.subarray(at, at + n), offset);
      else buf.set(page.subarray(offset, offset + n), at);
      at += n;
      len -= n;
      offset = 0;
    }
  }

  /** bpf_xdp_adjust_meta: 0, -EINVAL (out of the headroom or past data) or -EACCES (misaligned or too long). */
  adjustMeta(offset: number): number {
    const meta = this.dataMeta + offset;
    if (meta < this.hardStart + XDP_FRAME_STRUCT_SIZE || meta > this.data) return -22;
    if (xdpMetalenInvalid(this.data - meta)) return -13;
    this.dataMeta = meta;
    this.syncWindow();
    return 0;
  }

  /** data_out: data_meta..data_end, then the fragments in order; a copy. */
  dataOut(): Uint8Array {
    const linear = this.space.memory.bytes.slice(this.dataMeta, this.dataEnd);
    if (this.fragCount === 0) return linear;
    const out = new Uint8Array(linear.length + this.fragsSize);
    out.set(linear);
    for (let i = 0, at = linear.length; i < this.fragCount; at += this.fragLens[i]!, i++) out.set(this.fragPages[i]!.subarray(0, this.fragLens[i]!), at);
    return out;
  }

  /** Alias of dataOut (the name the first XDP context used). */
  packetOut(): Uint8Array {
    return this.dataOut();
  }

  /** ctx_out: ctx_in with data and data_end relative to data_meta (xdp_convert_buff_to_md). */
  ctxOut(): Uint8Array {
    const md = this.space.memory.bytes.slice(this.ctx.start, this.ctx.start + XDP_MD_SIZE);
    const v = new DataView(md.buffer);
    v.setUint32(XdpMd.data, this.data - this.dataMeta, true);
    v.setUint32(XdpMd.data_end, this.dataEnd - this.dataMeta, true);
    return md;
  }
}
