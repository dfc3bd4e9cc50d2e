// The __sk_buff context at run time, as bpf_prog_test_run_skb builds it (net/bpf/test_run.c).
//
// The packet is copied after NET_SKB_PAD (64) bytes of headroom, eth_type_trans() runs against
// the device (loopback unless ctx_in's ifindex names another): it sets protocol and pkt_type
// and pulls the Ethernet header. A tc program (is_l2) gets the header pushed back, so skb->data
// is the Ethernet header and data/data_end load as packet pointers; a socket filter keeps
// skb->data past it, reads the packet with LD_ABS/LD_IND, and its data_out has those 14 bytes
// zeroed (the kernel memsets the header it pushes back after the run).
//
// The scalar fields live in the ctx region's memory in the __sk_buff layout, so narrow loads
// and the program's stores (mark, priority, cb[]...) need no translation; a load hook serves
// the packet pointers and the fields the kernel keeps as u16 (tc_index, tc_classid,
// queue_mapping). Helpers that change the skb (vlan push/pop, store_bytes, hash) update both.

import { type AddressSpace, type Region } from '../vm/address-space.js';
import { InvalidContextError } from '../vm/errors.js';
import type { SkbData } from '../vm/interpreter.js';
import { deviceTable, LOOPBACK, type NetDevice } from './net-device.js';
import type { ContextInstance, RunInput } from './program-type-ops.js';
import { SkBuff, SK_BUFF_SIZE } from './sk-buff.js';
import { kernelTraits, type KernelTraits } from './kernel-traits.js';
import { TestRunSock } from './test-run-sock.js';

/** NET_SKB_PAD + NET_IP_ALIGN on x86-64: the headroom of a test run's skb. */
export const SKB_HEADROOM = 64;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) on x86-64. */
export const SKB_SHINFO_SIZE = 320;
/** The largest data_in bpf_test_init takes for an skb (PAGE_SIZE - headroom - tailroom). */
export const SKB_MAX_DATA = 4096 - SKB_HEADROOM - SKB_SHINFO_SIZE;
/**
 * The most skb_change_tail/head/adjust_room may grow an skb to: BPF_SKB_MAX_LEN, which is
 * SKB_MAX_ALLOC (4 pages less skb_shared_info = 16064) on Linux 6.18.
 */
export const SKB_MAX_LEN = 4 * 4096 - SKB_SHINFO_SIZE;
/** The packet block: headroom plus the largest skb, so growing never reallocates. */
const SKB_BLOCK = SKB_HEADROOM + SKB_MAX_LEN + 64;
/** GSO_LEGACY_MAX_SIZE: the largest wire_len a ctx_in may give. */
export const GSO_LEGACY_MAX_SIZE = 65536;
/** GSO_MAX_SEGS. */
export const GSO_MAX_SEGS = 65535;

/** PACKET_HOST / BROADCAST / MULTICAST / OTHERHOST (skb->pkt_type). */
export const PacketType = { HOST: 0, BROADCAST: 1, MULTICAST: 2, OTHERHOST: 3 } as const;

const ETH_HLEN = 14;
const ETH_P_802_3 = 0x0001;
const ETH_P_802_2 = 0x0004;

/** The ranges of a ctx_in that must be zero (convert___skb_to_skb): everything but the fields it copies. */
const CTX_IN_ZERO: readonly (readonly [number, number, string])[] = [
  [0, SkBuff.mark, 'len..protocol'],
  [SkBuff.mark + 4, SkBuff.priority, 'queue_mapping..vlan_proto'],
  [SkBuff.ifindex + 4, SkBuff.cb, 'tc_index'],
  [SkBuff.cb + 20, SkBuff.tstamp, 'hash..flow_keys'],
  [SkBuff.gso_segs + 4, SkBuff.gso_size, 'sk'],
  [SkBuff.gso_size + 4, SkBuff.hwtstamp, 'tstamp_type'],
];

/**
 * Size of the sk_buff field each u32 __sk_buff field is converted to (bpf_convert_ctx_access on
 * x86-64): a narrow load no narrower than it reads the whole field.
 */
const TARGET_SIZE: Readonly<Record<number, number>> = {
  [SkBuff.len]: 4,
  [SkBuff.pkt_type]: 1,
  [SkBuff.mark]: 4,
  [SkBuff.queue_mapping]: 2,
  [SkBuff.protocol]: 2,
  [SkBuff.vlan_present]: 4,
  [SkBuff.vlan_tci]: 2,
  [SkBuff.vlan_proto]: 2,
  [SkBuff.priority]: 4,
  [SkBuff.ingress_ifindex]: 4,
  [SkBuff.ifindex]: 4,
  [SkBuff.tc_index]: 2,
  [SkBuff.hash]: 4,
  [SkBuff.tc_classid]: 2,
  [SkBuff.napi_id]: 4,
  [SkBuff.wire_len]: 4,
  [SkBuff.gso_segs]: 2,
  [SkBuff.gso_size]: 2,
};

/** Which flavour of skb test run: tc (the Ethernet header stays in) or socket filter (pulled). */
export type SkbFlavour = 'tc' | 'socket_filter';

/** Options of an skb context. */
export interface SkbContextOptions {
  /** Interfaces a ctx_in's ifindex may name (default: loopback only). */
  readonly devices?: (ifindex: number) => NetDevice | undefined;
  /** Build-dependent behaviours of the kernel being reproduced (the test run socket's rx_queue_mapping). */
  readonly kernel?: Partial<KernelTraits>;
}

/** ETH_P_8021Q / ETH_P_8021AD in network byte order, as skb->protocol holds them (read little-endian). */
export const VLAN_PROTOS_BE: readonly number[] = [0x0081, 0xa888];

/** Swaps the bytes of a 16-bit value (host <-> network order). */
export const swap16 = (x: number): number => ((x & 0xff) << 8) | ((x >>> 8) & 0xff);

/** The __sk_buff context of one address space: a ctx region and a packet region, reused across runs. */
export class SkbContext implements ContextInstance {
  /** The __sk_buff region (writable: the program stores mark, cb[]...). */
  readonly ctx: Region;
  /** The packet block: headroom, data, tailroom. Its window is what the program may touch. */
  readonly packet: Region;
  /** Memory offset of the MAC header. */
  mac = 0;
  #data = 0;
  #len = 0;
  /** Load cells of __sk_buff data, data_meta and data_end (AddressSpace.loadCell), written on every change. */
  private readonly cells: readonly number[];
  /** High word of packet pointers (the packet region's tag). */
  private readonly packetHi: number;
  /** Memory offset of skb->data. */
  get data(): number {
    return this.#data;
  }
  set data(v: number) {
    this.#data = v;
    this.syncCells();
  }
  /** skb->len. */
  get len(): number {
    return this.#len;
  }
  set len(v: number) {
    this.#len = v;
    this.syncCells();
  }

  /** Writes data, data_meta (= data) and data_end to their cells, which the JIT reads inline. */
  private syncCells(): void {
    const v = this.space.memory.view; // re-fetched: the memory may have grown
    const [d, m, e] = this.cells;
    v.setInt32(d!, this.#data, true);
    v.setInt32(d! + 4, this.packetHi, true);
    v.setInt32(m!, this.#data, true);
    v.setInt32(m! + 4, this.packetHi, true);
    v.setInt32(e!, this.#data + this.#len, true);
    v.setInt32(e! + 4, this.packetHi, true);
  }
  /** Memory offset of the network header. */
  network = 0;
  /** skb->ip_summed: a test run's skb starts CHECKSUM_NONE; bpf_csum_level can make it UNNECESSARY. */
  ipSummed: 'none' | 'unnecessary' = 'none';
  /** skb->csum_level (with CHECKSUM_UNNECESSARY). */
  csumLevel = 0;
  private ctxIn = new Uint8Array(SK_BUFF_SIZE);
  /** The devices ctx_in and helpers may name by ifindex. */
  readonly devices: (ifindex: number) => NetDevice | undefined;
  /** skb->dev: loopback unless ctx_in's ifindex named another. */
  dev: NetDevice = LOOPBACK;
  /** skb->sk: the dummy socket a test run attaches. */
  readonly sock: TestRunSock;
  /**
   * skb->mac_len: 0 in a test run's skb (nothing resets it) until a helper does (VLAN push/pop,
   * change_head); vlan_get_protocol starts from it.
   */
  macLen = 0;
  /** skb_headroom() as the kernel's skb has it (NET_SKB_PAD at first, more after a reallocation). */
  kernelHeadroom = SKB_HEADROOM;
  /** skb->transport_header as the kernel keeps it: a u16 offset from skb->head, 0xffff while unset. */
  transportHeader = 0xffff;
  /** The socket's cookie once bpf_get_socket_cookie gave it one in this run (0: none yet). */
  sockCookie = 0;
  /** skb->encapsulation: set by bpf_skb_adjust_room's encap flags. */
  encapsulation = false;
  private readonly view: () => DataView;

  constructor(
    private readonly space: AddressSpace,
    /** tc (is_l2, direct packet access) or socket filter. */
    readonly flavour: SkbFlavour,
    options: SkbContextOptions = {},
  ) {
    this.devices = options.devices ?? deviceTable();
    this.ctx = space.addRegion('ctx', SK_BUFF_SIZE, { kind: 'ctx' });
    this.packet = space.addRegion('packet', 0, { kind: 'packet', before: SKB_BLOCK });
    this.sock = new TestRunSock(space, kernelTraits(options.kernel).sockRxQueueMapping);
    this.view = () => space.memory.view;
    this.packetHi = Math.floor(this.packet.address() / 4294967296);
    space.setLoadHook(this.ctx, (offset, size, out) => {
      if (offset === SkBuff.data || offset === SkBuff.data_meta || offset === SkBuff.data_end) {
        if (size !== 4) return false;
        out[0] = offset === SkBuff.data_end ? this.data + this.len : this.data;
        out[1] = this.packetHi;
        return true;
      }
      if (offset === SkBuff.sk && size === 8) {
        const a = this.sock.address();
        out[0] = a >>> 0;
        out[1] = Math.floor(a / 4294967296);
        return true;
      }
      const field = offset & ~3;
      const target = TARGET_SIZE[field];
      if (target === undefined || size > 4) return false;
      let v = this.u32(field);
      if (field === SkBuff.queue_mapping && v >= 0xffff) v = 0;
      if (target < 4) v &= (1 << (target * 8)) - 1;
      // The kernel loads the underlying field; a narrower load shifts and masks only when it is
      // narrower than that field (bpf_ctx_narrow_access_offset), so a 2-byte load of a u16
      // field at +2 still yields the whole field.
      if (size < target) v = (v >>> ((offset - field) * 8)) & ((1 << (size * 8)) - 1);
      out[0] = v;
      out[1] = 0;
      return true;
    });
    this.cells = [SkBuff.data, SkBuff.data_meta, SkBuff.data_end].map((f) => space.loadCell(this.ctx, f));
    this.syncCells();
  }

  /** Reads a u32 field of the live __sk_buff. */
  u32(off: number): number {
    return this.view().getUint32(this.ctx.start + off, true);
  }

  /** Writes a u32 field of the live __sk_buff. */
  setU32(off: number, value: number): void {
    this.view().setUint32(this.ctx.start + off, value >>> 0, true);
  }

  /** The packet bytes from skb->data, skb->len long (a live view). */
  bytes(): Uint8Array {
    return this.space.memory.bytes.subarray(this.data, this.data + this.len);
  }

  /**
   * Sets up a run as bpf_prog_test_run_skb does: data_in of at least ETH_HLEN bytes, a ctx_in
   * whose only non-zero fields are mark, priority, ingress_ifindex, ifindex (an existing
   * device), cb[], tstamp, wire_len (>= len), gso_segs, gso_size and hwtstamp. Anything
   * else throws InvalidContextError (the kernel's EINVAL / ENODEV). Returns the ctx pointer.
   */
  setup(input: RunInput): number {
    const frame = input.data;
    if (frame.length < ETH_HLEN) throw new InvalidContextError('data', `data_in of ${frame.length} bytes is shorter than an Ethernet header`);
    if (frame.length > SKB_MAX_DATA) throw new InvalidContextError('data', `data_in of ${frame.length} bytes exceeds ${SKB_MAX_DATA}`);
    const ctxIn = new Uint8Array(SK_BUFF_SIZE);
    if (input.ctxIn) {
      if (input.ctxIn.length > SK_BUFF_SIZE && input.ctxIn.subarray(SK_BUFF_SIZE).some((x) => x !== 0)) {
        throw new InvalidContextError('(tail)', `bytes past sizeof(struct __sk_buff) = ${SK_BUFF_SIZE} must be zero (E2BIG)`);
      }
      ctxIn.set(input.ctxIn.subarray(0, SK_BUFF_SIZE));
    }
    const inView = new DataView(ctxIn.buffer);
    let dev: NetDevice = LOOPBACK;
    const ifindex = inView.getUint32(SkBuff.ifindex, true);
    if (ifindex > 1) {
      const d = this.devices(ifindex);
      if (!d) throw new InvalidContextError('ifindex', `no device with ifindex ${ifindex} (ENODEV)`);
      dev = d;
    }
    for (const [from, to, name] of CTX_IN_ZERO) {
      if (ctxIn.subarray(from, to).some((x) => x !== 0)) throw new InvalidContextError(name, 'must be zero in ctx_in');
    }
    this.ctxIn = ctxIn;
    this.dev = dev;
    this.encapsulation = false;
    this.sockCookie = 0;
    this.macLen = 0;
    this.transportHeader = 0xffff;
    this.ipSummed = 'none';
    this.csumLevel = 0;

    // The packet: headroom, then the frame; eth_type_trans.
    const mem = this.space.memory.bytes;
    mem.fill(0, this.packet.base, this.packet.base + SKB_HEADROOM);
    this.mac = this.packet.base + SKB_HEADROOM;
    mem.set(frame, this.mac);
    this.network = this.mac + ETH_HLEN;
    const protocol = ethTypeTrans(frame);
    this.sock.reset(frame, swap16(protocol));
    // The socket the test run attaches takes its addresses from the IP header, which must be there.
    const ipHeader = protocol === swap16(0x0800) ? 20 : protocol === swap16(0x86dd) ? 40 : 0;
    if (frame.length - ETH_HLEN < ipHeader) {
      throw new InvalidContextError('data', `an ${ipHeader === 20 ? 'IPv4' : 'IPv6'} frame needs a ${ipHeader}-byte header after the Ethernet header`);
    }
    const pktType = packetType(frame, dev);
    if (this.flavour === 'tc') {
      this.data = this.mac;
      this.len = frame.length;
    } else {
      this.data = this.mac + ETH_HLEN;
      this.len = frame.length - ETH_HLEN;
    }
    const wireLen = inView.getUint32(SkBuff.wire_len, true);
    if (wireLen !== 0 && (wireLen < this.len || wireLen > GSO_LEGACY_MAX_SIZE)) {
      throw new InvalidContextError('wire_len', `${wireLen} must be 0 or between len ${this.len} and ${GSO_LEGACY_MAX_SIZE}`);
    }
    const gsoSegs = inView.getUint32(SkBuff.gso_segs, true);
    if (gsoSegs > GSO_MAX_SEGS) throw new InvalidContextError('gso_segs', `${gsoSegs} exceeds ${GSO_MAX_SEGS}`);

    // The live __sk_buff.
    mem.fill(0, this.ctx.start, this.ctx.start + SK_BUFF_SIZE);
    this.setU32(SkBuff.pkt_type, pktType);
    this.setU32(SkBuff.protocol, protocol);
    for (const f of ['mark', 'priority', 'ingress_ifindex', 'gso_size'] as const) this.setU32(SkBuff[f], inView.getUint32(SkBuff[f], true));
    this.setU32(SkBuff.ifindex, dev.ifindex);
    mem.set(ctxIn.subarray(SkBuff.cb, SkBuff.cb + 20), this.ctx.start + SkBuff.cb);
    mem.set(ctxIn.subarray(SkBuff.tstamp, SkBuff.tstamp + 8), this.ctx.start + SkBuff.tstamp);
    mem.set(ctxIn.subarray(SkBuff.hwtstamp, SkBuff.hwtstamp + 8), this.ctx.start + SkBuff.hwtstamp);
    this.setU32(SkBuff.wire_len, wireLen === 0 ? this.len : wireLen);
    this.setU32(SkBuff.gso_segs, gsoSegs);
    this.kernelHeadroom = this.data - this.packet.base;
    this.sync();
    return this.ctx.address();
  }

  /**
   * skb_cow / skb_cow_head bookkeeping: when a helper needs more headroom than the kernel's skb
   * has, the kernel reallocates the head with ALIGN(delta, NET_SKB_PAD) more bytes and moves the
   * header offsets with it — including an unset transport header (0xffff), which wraps to a set
   * one (skb_headers_offset_update). That is observable: bpf_skb_change_tail's minimum length
   * follows the transport header once it is set.
   */
  cow(needed: number): void {
    if (needed <= this.kernelHeadroom) return;
    const nhead = Math.ceil((needed - this.kernelHeadroom) / SKB_HEADROOM) * SKB_HEADROOM;
    this.kernelHeadroom += nhead;
    this.transportHeader = (this.transportHeader + nhead) & 0xffff;
  }

  /** __skb_push (n > 0) or __skb_pull (n < 0) on the kernel's headroom. */
  pushed(n: number): void {
    this.kernelHeadroom -= n;
  }

  /** __bpf_skb_min_len: the transport offset once a transport header is set, else the network offset (as u32). */
  minLen(): number {
    if (this.transportHeader !== 0xffff) return (this.transportHeader - this.kernelHeadroom) >>> 0;
    return (this.network - this.data) >>> 0;
  }

  /** After skb->data or skb->len moved: the window, and the len field. */
  sync(): void {
    const from = this.flavour === 'tc' ? this.data : Math.min(this.mac, this.data);
    this.packet.setWindow(from - this.packet.base, this.data + this.len - this.packet.base);
    this.setU32(SkBuff.len, this.len);
  }

  /**
   * Makes room for `headroom` bytes before skb->data and `length` bytes from skb->data, moving
   * the packet within the block when the headroom is short (the kernel reallocates the head;
   * the verifier has invalidated the program's packet pointers either way). False when the
   * block cannot hold it.
   */
  ensureRoom(headroom: number, length: number): boolean {
    const base = this.packet.base;
    if (headroom + length + (this.data - this.mac) > SKB_BLOCK) return false;
    const lack = headroom - (Math.min(this.data, this.mac) - base);
    if (lack > 0) {
      const from = Math.min(this.data, this.mac);
      const end = this.data + this.len;
      if (end + lack > base + SKB_BLOCK) return false;
      this.space.memory.bytes.copyWithin(from + lack, from, end);
      this.data += lack;
      this.mac += lack;
      this.network += lack;
    }
    return this.data + length <= base + SKB_BLOCK;
  }

  /** Where LD_ABS/LD_IND read: skb->data, the network and MAC headers, as offsets in the window. */
  skb(): SkbData {
    // Live: helpers that move skb->data (VLAN, change_head, adjust_room) move what LD_ABS reads.
    // Made once: the runtime asks for it before every run.
    return (this.liveSkb ??= new LiveSkbData(this));
  }
  private liveSkb: LiveSkbData | undefined;

  /** data_out: skb->data..+len (socket filters: with the 14 bytes before it zeroed, as the kernel pushes them back). */
  dataOut(): Uint8Array {
    const body = this.space.memory.bytes.slice(this.data, this.data + this.len);
    if (this.flavour === 'tc') return body;
    const out = new Uint8Array(ETH_HLEN + body.length);
    out.set(body, ETH_HLEN);
    return out;
  }

  /** ctx_out: ctx_in with mark, priority, ingress_ifindex, ifindex, tstamp, cb[], wire_len, gso_segs, hwtstamp from the skb. */
  ctxOut(): Uint8Array {
    const out = this.ctxIn.slice();
    const live = this.space.memory.bytes.subarray(this.ctx.start, this.ctx.start + SK_BUFF_SIZE);
    for (const f of ['mark', 'priority', 'ingress_ifindex', 'ifindex', 'wire_len', 'gso_segs'] as const) out.set(live.subarray(SkBuff[f], SkBuff[f] + 4), SkBuff[f]);
    out.set(live.subarray(SkBuff.cb, SkBuff.cb + 20), SkBuff.cb);
    out.set(live.subarray(SkBuff.tstamp, SkBuff.tstamp + 8), SkBuff.tstamp);
    out.set(live.subarray(SkBuff.hwtstamp, SkBuff.hwtstamp + 8), SkBuff.hwtstamp);
    return out;
  }
}

/** eth_type_trans's protocol: the EtherType (>= 0x600), else ETH_P_802_3 for raw 802.3 (0xffff) or ETH_P_802_2; network byte order read little-endian. */
export function ethTypeTrans(frame: Uint8Array): number {
  const proto = (frame[12]! << 8) | frame[13]!;
  if (proto >= 0x600) return swap16(proto);
  if (frame.length >= 16 && frame[14] === 0xff && frame[15] === 0xff) return swap16(ETH_P_802_3);
  return swap16(ETH_P_802_2);
}

/**
 * eth_type_trans's pkt_type: HOST when the destination is the device's MAC, else BROADCAST
 * (the device's broadcast address — loopback's is all zeroes, so it never sees one),
 * MULTICAST or OTHERHOST.
 */
export function packetType(frame: Uint8Array, dev: NetDevice): number {
  const is = (addr: Uint8Array): boolean => addr.every((b, i) => frame[i] === b);
  if (is(dev.mac)) return PacketType.HOST;
  if ((frame[0]! & 1) === 0) return PacketType.OTHERHOST;
  return is(dev.broadcast ?? BROADCAST) ? PacketType.BROADCAST : PacketType.MULTICAST;
}

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

/** SkbData reading an SkbContext's current skb->data, network and mac header (offsets in the packet window). */
class LiveSkbData implements SkbData {
  readonly region: Region;
  constructor(private readonly skb: SkbContext) {
    this.region = skb.packet;
  }
  get data(): number {
    return this.skb.data - this.region.start;
  }
  get network(): number {
    return this.skb.network - this.region.start;
  }
  get mac(): number {
    return this.skb.mac - this.region.start;
  }
}
