// pcapng writer: sections, interfaces with if_tsresol, enhanced/simple packet blocks, in chunks.

import { PCAPNG_BYTE_ORDER_MAGIC, PcapngBlock, PcapngOption } from './capture-format.js';
import { ByteSink } from './byte-sink.js';
import { PacketBuildError } from './errors.js';
import { LinkType } from './link-type.js';
import type { PacketMeta } from './pcap-writer.js';
import { timeToTicks, TS_RESOLUTION_MICRO, type TickParts, type TsResolution } from './timestamp.js';

const utf8 = new TextEncoder();

/** Options of a pcapng section (its Section Header Block). */
export interface PcapngSectionOptions {
  /** Byte order of the section. Default little-endian. */
  littleEndian?: boolean;
  /** shb_hardware. */
  hardware?: string;
  /** shb_os. */
  os?: string;
  /** shb_userappl. Default `'bpfkit'`. */
  userAppl?: string;
  /** opt_comment. */
  comment?: string;
}

/** Options of an interface (its Interface Description Block). */
export interface PcapngInterfaceOptions {
  /** Link type. Default Ethernet. */
  linkType?: number;
  /** Snapshot length, 0 for none. Default 262144. */
  snaplen?: number;
  /** Timestamp resolution, an if_tsresol byte (6 us, 9 ns, 0x80|n for 2^-n). Default 6. */
  tsResolution?: TsResolution;
  /** if_tsoffset in seconds. Default 0 (option omitted). */
  tsOffset?: number;
  /** if_name. */
  name?: string;
  /** if_description. */
  description?: string;
}

/** Per-packet options of an Enhanced Packet Block. */
export interface PcapngPacketMeta extends PacketMeta {
  /** Interface id (from addInterface). Default 0. */
  interfaceId?: number;
  /** opt_comment. */
  comment?: string;
  /** epb_flags (direction, reception type, FCS length...). */
  flags?: number;
  /** epb_dropcount: packets lost between this one and the previous (u64). */
  dropCount?: bigint;
  /** epb_packetid: an id shared by the records of one packet (u64). */
  packetId?: bigint;
  /** epb_queue: the receive queue (u32). */
  queue?: number;
  /** epb_verdict: the verdict's type (2: eBPF XDP, 1: TC) and value (an XDP action), as 1 + 8 bytes. */
  verdict?: { type: number; value: bigint };
}

/**
 * Writes a pcapng stream. The constructor starts a section; call {@link addInterface} before
 * writing packets. `flush()` returns everything written since the last flush as one chunk.
 */
export class PcapngWriter {
  private readonly sink = new ByteSink(65536);
  private le = true;
  private ifaces: { tsResolution: TsResolution; snaplen: number }[] = [];
  private readonly ticks: TickParts = { hi: 0, lo: 0 };
  /** Packets written. */
  packetCount = 0;

  constructor(section: PcapngSectionOptions = {}) {
    this.newSection(section);
  }

  /** Starts a new section (new byte order allowed); interfaces must be added again. */
  newSection(options: PcapngSectionOptions = {}): this {
    this.le = options.littleEndian ?? true;
    this.ifaces = [];
    const start = this.beginBlock(PcapngBlock.SECTION_HEADER);
    const s = this.sink;
    s.u32(PCAPNG_BYTE_ORDER_MAGIC, this.le);
    s.u16(1, this.le);
    s.u16(0, this.le);
    s.u32(0xffffffff, this.le); // section length: unspecified
    s.u32(0xffffffff, this.le);
    const opts: [number, Uint8Array][] = [];
    if (options.comment !== undefined) opts.push([PcapngOption.COMMENT, utf8.encode(options.comment)]);
    if (options.hardware !== undefined) opts.push([PcapngOption.SHB_HARDWARE, utf8.encode(options.hardware)]);
    if (options.os !== undefined) opts.push([PcapngOption.SHB_OS, utf8.encode(options.os)]);
    opts.push([PcapngOption.SHB_USERAPPL, utf8.encode(options.userAppl ?? 'bpfkit')]);
    this.options(opts);
    this.endBlock(start);
    return this;
  }

  /** Adds an interface to the current section; returns its id. */
  addInterface(options: PcapngInterfaceOptions = {}): number {
    const tsResolution = options.tsResolution ?? TS_RESOLUTION_MICRO;
    const snaplen = options.snaplen ?? 262144;
    const start = this.beginBlock(PcapngBlock.INTERFACE_DESCRIPTION);
    const s = this.sink;
    s.u16(options.linkType ?? LinkType.ETHERNET, this.le);
    s.u16(0, this.le);
    s.u32(snaplen, this.le);
    const opts: [number, Uint8Array][] = [];
    if (options.name !== undefined) opts.push([PcapngOption.IF_NAME, utf8.encode(options.name)]);
    if (options.description !== undefined) opts.push([PcapngOption.IF_DESCRIPTION, utf8.encode(options.description)]);
    if (tsResolution !== TS_RESOLUTION_MICRO) opts.push([PcapngOption.IF_TSRESOL, Uint8Array.of(tsResolution)]);
    if (options.tsOffset) {
      const v = new Uint8Array(8);
      const dv = new DataView(v.buffer);
      const hi = Math.floor(options.tsOffset / 0x100000000);
      dv.setInt32(this.le ? 4 : 0, hi, this.le);
      dv.setUint32(this.le ? 0 : 4, options.tsOffset - hi * 0x100000000, this.le);
      opts.push([PcapngOption.IF_TSOFFSET, v]);
    }
    this.options(opts);
    this.endBlock(start);
    this.ifaces.push({ tsResolution, snaplen });
    return this.ifaces.length - 1;
  }

  /** Appends an Enhanced Packet Block (truncated to the interface's snaplen). */
  write(data: Uint8Array, meta: PcapngPacketMeta = {}): this {
    const id = meta.interfaceId ?? 0;
    const iface = this.ifaces[id];
    if (iface === undefined) throw new PacketBuildError('interfaceId', `interface ${id} not added to this section (has ${this.ifaces.length})`);
    const caplen = iface.snaplen > 0 ? Math.min(data.length, iface.snaplen) : data.length;
    timeToTicks(meta.seconds ?? 0, meta.nanoseconds ?? 0, iface.tsResolution, this.ticks);
    const start = this.beginBlock(PcapngBlock.ENHANCED_PACKET);
    const s = this.sink;
    s.u32(id, this.le);
    s.u32(this.ticks.hi, this.le);
    s.u32(this.ticks.lo, this.le);
    s.u32(caplen, this.le);
    s.u32(meta.origLen ?? data.length, this.le);
    s.bytes(caplen === data.length ? data : data.subarray(0, caplen));
    s.pad(4);
    if (meta.comment !== undefined || meta.flags !== undefined || meta.dropCount || meta.packetId !== undefined || meta.queue !== undefined || meta.verdict !== undefined) {
      const opts: [number, Uint8Array][] = [];
      if (meta.comment !== undefined) opts.push([PcapngOption.COMMENT, utf8.encode(meta.comment)]);
      const num = (size: 4 | 8, value: number | bigint): Uint8Array => {
        const v = new Uint8Array(size);
        const dv = new DataView(v.buffer);
        if (size === 4) dv.setUint32(0, Number(value), this.le);
        else dv.setBigUint64(0, BigInt(value), this.le);
        return v;
      };
      if (meta.flags !== undefined) opts.push([PcapngOption.EPB_FLAGS, num(4, meta.flags)]);
      if (meta.dropCount) opts.push([PcapngOption.EPB_DROPCOUNT, num(8, meta.dropCount)]);
      if (meta.packetId !== undefined) opts.push([PcapngOption.EPB_PACKETID, num(8, meta.packetId)]);
      if (meta.queue !== undefined) opts.push([PcapngOption.EPB_QUEUE, num(4, meta.queue)]);
      if (meta.verdict !== undefined) {
        const v = new Uint8Array(9);
        v[0] = meta.verdict.type;
        new DataView(v.buffer).setBigInt64(1, meta.verdict.value, this.le);
        opts.push([PcapngOption.EPB_VERDICT, v]);
      }
      this.options(opts);
    }
    this.endBlock(start);
    this.packetCount++;
    return this;
  }

  /** Appends a Simple Packet Block (interface 0, no timestamp). */
  writeSimple(data: Uint8Array, origLen = data.length): this {
    const iface = this.ifaces[0];
    if (iface === undefined) throw new PacketBuildError('interfaceId', 'simple packet block needs interface 0');
    const caplen = iface.snaplen > 0 ? Math.min(data.length, iface.snaplen) : data.length;
    const start = this.beginBlock(PcapngBlock.SIMPLE_PACKET);
    this.sink.u32(origLen, this.le);
    this.sink.bytes(caplen === data.length ? data : data.subarray(0, caplen));
    this.sink.pad(4);
    this.endBlock(start);
    this.packetCount++;
    return this;
  }

  /** Appends a block of any type with a raw body (padded to 4 bytes): custom or test blocks. */
  writeBlock(type: number, body: Uint8Array): this {
    const start = this.beginBlock(type);
    this.sink.bytes(body);
    this.sink.pad(4);
    this.endBlock(start);
    return this;
  }

  /** Returns the bytes written since the last flush. */
  flush(): Uint8Array {
    return this.sink.take();
  }

  private beginBlock(type: number): number {
    const start = this.sink.length;
    this.sink.u32(type, this.le);
    this.sink.u32(0, this.le); // patched by endBlock
    return start;
  }

  private endBlock(start: number): void {
    const total = this.sink.length - start + 4;
    this.sink.u32(total, this.le);
    this.sink.patchU32(start + 4, total, this.le);
  }

  private options(opts: [number, Uint8Array][]): void {
    if (opts.length === 0) return;
    const s = this.sink;
    for (const [code, value] of opts) {
      s.u16(code, this.le);
      s.u16(value.length, this.le);
      s.bytes(value);
      s.pad(4);
    }
    s.u16(PcapngOption.END_OF_OPT, this.le);
    s.u16(0, this.le);
  }
}
