// Classic pcap writer: file header plus one 16-byte record header per packet, in chunks.

import { PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO } from './capture-format.js';
import { ByteSink } from './byte-sink.js';
import { LinkType } from './link-type.js';

/** Options of {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** Link type of every packet. Default Ethernet. */
  linkType?: number;
  /** Snapshot length: longer packets are truncated (origLen keeps the real length). Default 262144. */
  snaplen?: number;
  /** Write nanosecond timestamps (magic 0xa1b23c4d). Default false (microseconds). */
  nanosecond?: boolean;
  /** Byte order. Default little-endian. */
  littleEndian?: boolean;
}

/** Timestamp and length of one written packet. */
export interface PacketMeta {
  /** Seconds since the epoch. Default 0. */
  seconds?: number;
  /** Nanoseconds within the second (truncated to microseconds in a microsecond file). Default 0. */
  nanoseconds?: number;
  /** Original length on the wire. Default the data length. */
  origLen?: number;
}

/**
 * Writes a classic pcap stream. `write()` buffers records; `flush()` returns everything
 * written since the last flush (the file header first) as one chunk.
 */
export class PcapWriter {
  private readonly sink = new ByteSink(65536);
  private readonly le: boolean;
  private readonly nano: boolean;
  /** Snapshot length written in the header. */
  readonly snaplen: number;
  /** Packets written. */
  packetCount = 0;

  constructor(options: PcapWriterOptions = {}) {
    this.le = options.littleEndian ?? true;
    this.nano = options.nanosecond ?? false;
    this.snaplen = options.snaplen ?? 262144;
    const s = this.sink;
    s.u32(this.nano ? PCAP_MAGIC_NANO : PCAP_MAGIC_MICRO, this.le);
    s.u16(2, this.le);
    s.u16(4, this.le);
    s.u32(0, this.le); // thiszone
    s.u32(0, this.le); // sigfigs
    s.u32(this.snaplen, this.le);
    s.u32(options.linkType ?? LinkType.ETHERNET, this.le);
  }

  /** Appends one packet (truncated to snaplen). */
  write(data: Uint8Array, meta: PacketMeta = {}): this {
    const caplen = Math.min(data.length, this.snaplen);
    const s = this.sink;
    const ns = meta.nanoseconds ?? 0;
    s.u32(meta.seconds ?? 0, this.le);
    s.u32(this.nano ? ns : Math.floor(ns / 1000), this.le);
    s.u32(caplen, this.le);
    s.u32(meta.origLen ?? data.length, this.le);
    s.bytes(caplen === data.length ? data : data.subarray(0, caplen));
    this.packetCount++;
    return this;
  }

  /** Appends the packet `bytes[offset, offset + length)` (truncated to snaplen), as `write` does, without a view of it. */
  writeRange(bytes: Uint8Array, offset: number, length: number, meta: PacketMeta = {}): this {
    const caplen = Math.min(length, this.snaplen);
    const s = this.sink;
    const ns = meta.nanoseconds ?? 0;
    s.u32(meta.seconds ?? 0, this.le);
    s.u32(this.nano ? ns : Math.floor(ns / 1000), this.le);
    s.u32(caplen, this.le);
    s.u32(meta.origLen ?? length, this.le);
    s.range(bytes, offset, caplen);
    this.packetCount++;
    return this;
  }

  /** Returns the bytes written since the last flush. */
  flush(): Uint8Array {
    return this.sink.take();
  }
}

/** A packet for the one-shot writers: bytes plus optional timestamp and original length. */
export interface PacketInput extends PacketMeta {
  /** Packet bytes. */
  data: Uint8Array;
}

/** Writes a whole classic pcap file to one Uint8Array. */
export function writePcap(packets: Iterable<PacketInput | Uint8Array>, options?: PcapWriterOptions): Uint8Array {
  const w = new PcapWriter(options);
  for (const p of packets) {
    if (p instanceof Uint8Array) w.write(p);
    else w.write(p.data, p);
  }
  return w.flush();
}
