// Streaming pcap/pcapng reader: push chunks, pull reused packet records; format from the magic.
//
// Bytes arrive as chunks of any size. A record that lies wholly inside one chunk is returned as
// a view into that chunk (no copy); only a record split across chunks is assembled into one
// internal carry buffer. Nothing is allocated per packet: the same PacketRecord is refilled.

import { BpfkitError } from '../errors.js';
import {
  PCAP_FILE_HEADER_LEN, PCAP_MAGIC_MICRO, PCAP_MAGIC_NANO, PCAP_RECORD_HEADER_LEN, PCAPNG_BYTE_ORDER_MAGIC,
  PcapngBlock, PcapngOption, type CaptureFormat,
} from './capture-format.js';
import { PcapError } from './errors.js';
import { PacketRecord } from './packet-record.js';
import { optionString, walkPcapngOptions, type CaptureInterface, type PcapngSection } from './pcapng-options.js';
import { ticksToTime, TS_RESOLUTION_MICRO, TS_RESOLUTION_NANO } from './timestamp.js';

/** Options of {@link CaptureReader}. */
export interface CaptureReaderOptions {
  /** Largest caplen accepted (libpcap's limit for most link types). Default 262144 (256 KiB). */
  maxCaplen?: number;
  /** Largest pcapng block accepted. Default 16 MiB. */
  maxBlockLength?: number;
  /** Accept caplen above the file's (or interface's) snaplen, up to maxCaplen. Default false. */
  lenientSnaplen?: boolean;
  /**
   * Skip records that cannot be read instead of throwing: a bad pcapng packet block is skipped
   * by its length; broken framing (an absurd caplen, a block length that is not a multiple of 4
   * or disagrees with its trailer) is recovered by scanning for the next plausible record or
   * block; a truncated last record is dropped. Bad magic and a truncated file header always
   * throw. Each skip is counted in `skipped`, kept in `errors` (first 64) and passed to `onSkip`.
   */
  skipBadRecords?: boolean;
  /** Called with each error skipped under `skipBadRecords`. */
  onSkip?: (error: PcapError) => void;
}

/** The classic pcap file header. */
export interface PcapFileHeader {
  /** Byte order the file was written in. */
  littleEndian: boolean;
  /** Nanosecond magic (0xa1b23c4d) rather than microsecond. */
  nanosecond: boolean;
  /** Version major (2). */
  versionMajor: number;
  /** Version minor (4). */
  versionMinor: number;
  /** GMT-to-local correction (always 0 in practice). */
  thiszone: number;
  /** Maximum bytes captured per packet. */
  snaplen: number;
  /** Link type (low 26 bits of the link-type field). */
  linkType: number;
  /** FCS bits per packet when the header's F flag is set. */
  fcsLength?: number;
}

const S_FILE_HEADER = 0;
const S_PCAP = 1;
const S_PCAPNG = 2;
const S_PCAP_RESYNC = 3;
const S_PCAPNG_RESYNC = 4;
const S_DONE = 5;

const EMPTY = new Uint8Array(0);
const MAX_KEPT_ERRORS = 64;

const KNOWN_BLOCKS = new Set<number>(Object.values(PcapngBlock));

/**
 * Incremental reader of classic pcap and pcapng captures, format detected from the magic.
 *
 * ```ts
 * const reader = new CaptureReader();
 * for await (const chunk of source) {
 *   reader.push(chunk);
 *   for (let p = reader.read(); p !== null; p = reader.read()) handle(p);
 * }
 * reader.end();
 * for (const p of reader) handle(p); // packets completed by end(), and the truncation check
 * ```
 *
 * `read()` returns the same {@link PacketRecord} each time, overwritten by the next call.
 * Pushed chunks are referenced, not copied: do not modify a chunk after pushing it.
 * Malformed input throws {@link PcapError} (code `ERR_PCAP_MALFORMED`) with the stream offset.
 */
export class CaptureReader implements Iterable<PacketRecord> {
  /** Format, once the first 4 bytes have arrived. */
  format: CaptureFormat | undefined;
  /** Classic pcap file header (pcap only). */
  pcapHeader: PcapFileHeader | undefined;
  /** Current pcapng section (pcapng only). */
  section: PcapngSection | undefined;
  /** Number of pcapng sections seen. */
  sectionCount = 0;
  /** Interfaces of the current section (pcapng), or the file's single interface (pcap). */
  interfaces: CaptureInterface[] = [];
  /** Packets returned so far. */
  packetCount = 0;
  /** Records or blocks skipped under `skipBadRecords`. */
  skipped = 0;
  /** The first skipped errors, in order. */
  readonly errors: PcapError[] = [];

  private readonly record = new PacketRecord();
  private readonly maxCaplen: number;
  private readonly maxBlockLength: number;
  private readonly lenientSnaplen: boolean;
  private readonly skipBad: boolean;
  private readonly onSkip: ((error: PcapError) => void) | undefined;

  private state = S_FILE_HEADER;
  private ended = false;
  private failed: PcapError | undefined;

  // Unconsumed bytes: cur[pos..limit) then queue[qHead][qPos..] then the rest of the queue.
  private cur: Uint8Array = EMPTY;
  private dv: DataView = new DataView(EMPTY.buffer);
  private pos = 0;
  private limit = 0;
  private queue: Uint8Array[] = [];
  private qHead = 0;
  private qPos = 0;
  private queuedBytes = 0;
  private carry = new Uint8Array(2048);
  private carryDv: DataView = new DataView(this.carry.buffer);
  /** Stream offset of cur[pos]. */
  private offset = 0;

  private le = true;
  // Classic pcap.
  private capLimit = 0;
  private fracMul = 1000;
  private linkType = 0;
  // pcapng, per interface of the current section.
  private ifLinkType: number[] = [];
  private ifTsResol: number[] = [];
  private ifTsOffset: number[] = [];
  private ifCapLimit: number[] = [];

  constructor(options: CaptureReaderOptions = {}) {
    this.maxCaplen = options.maxCaplen ?? 262144;
    this.maxBlockLength = options.maxBlockLength ?? 16 * 1024 * 1024;
    this.lenientSnaplen = options.lenientSnaplen ?? false;
    this.skipBad = options.skipBadRecords ?? false;
    this.onSkip = options.onSkip;
  }

  /** Stream offset of the next unread byte. */
  get bytesConsumed(): number {
    return this.offset;
  }

  /** Appends a chunk of the capture. Returns `this`. */
  push(chunk: Uint8Array): this {
    if (this.ended) throw new BpfkitError('ERR_READER_ENDED', 'CaptureReader.push() after end()');
    if (chunk.length === 0) return this;
    if (this.qHead > 64 && this.qHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.qHead);
      this.qHead = 0;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    return this;
  }

  /** Marks the end of input: a partial record left over is then reported as truncated. */
  end(): this {
    this.ended = true;
    return this;
  }

  /** Iterates the packets ready now (until more input is needed or the capture ends). */
  [Symbol.iterator](): Iterator<PacketRecord> {
    const result: { done: false; value: PacketRecord } = { done: false, value: this.record };
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    return {
      next: (): IteratorResult<PacketRecord> => (this.read() === null ? done : result),
    };
  }

  /**
   * Returns the next packet, or `null` when more input is needed (or, after `end()`, when the
   * capture is exhausted). The returned record is reused by the next call.
   */
  read(): PacketRecord | null {
    // Hot path: classic pcap record wholly inside the current chunk.
    if (this.state === S_PCAP) {
      const p = this.pos;
      if (this.limit - p >= PCAP_RECORD_HEADER_LEN) {
        const caplen = this.dv.getUint32(p + 8, this.le);
        if (caplen <= this.capLimit && this.limit - p - PCAP_RECORD_HEADER_LEN >= caplen) return this.emitPcap(caplen);
      }
    }
    return this.readSlow();
  }

  private emitPcap(caplen: number): PacketRecord {
    const p = this.pos;
    const dv = this.dv;
    const le = this.le;
    const rec = this.record;
    rec.seconds = dv.getUint32(p, le);
    rec.nanoseconds = dv.getUint32(p + 4, le) * this.fracMul;
    rec.caplen = caplen;
    rec.origLen = dv.getUint32(p + 12, le);
    rec.linkType = this.linkType;
    rec.interfaceId = 0;
    rec.buffer = this.cur;
    rec.offset = p + PCAP_RECORD_HEADER_LEN;
    rec.recordOffset = this.offset;
    rec.index = this.packetCount++;
    const size = PCAP_RECORD_HEADER_LEN + caplen;
    this.pos = p + size;
    this.offset += size;
    return rec;
  }

  private readSlow(): PacketRecord | null {
    if (this.failed) throw this.failed;
    for (;;) {
      switch (this.state) {
        case S_FILE_HEADER:
          if (!this.readFileHeader()) return null;
          break;
        case S_PCAP: {
          if (!this.ensure(PCAP_RECORD_HEADER_LEN)) return this.starved(PCAP_RECORD_HEADER_LEN, 'record header');
          const caplen = this.dv.getUint32(this.pos + 8, this.le);
          if (caplen > this.capLimit) {
            this.bad(this.offset, `record caplen ${caplen} exceeds the limit of ${this.capLimit} (snaplen ${this.pcapHeader!.snaplen})`);
            this.skipBytes(1);
            this.state = S_PCAP_RESYNC;
            break;
          }
          if (!this.ensure(PCAP_RECORD_HEADER_LEN + caplen)) return this.starved(PCAP_RECORD_HEADER_LEN + caplen, 'record');
          return this.emitPcap(caplen);
        }
        case S_PCAPNG: {
          const r = this.readBlock();
          if (r !== undefined) return r;
          break;
        }
        case S_PCAP_RESYNC:
          if (!this.resyncPcap()) return null;
          break;
        case S_PCAPNG_RESYNC:
          if (!this.resyncPcapng()) return null;
          break;
        default:
          return null;
      }
    }
  }

  // ---- byte plumbing -------------------------------------------------------------------------

  /** Makes cur[pos..pos+n) contiguous if that many bytes are buffered; false otherwise. */
  private ensure(n: number): boolean {
    if (this.limit - this.pos >= n) return true;
    if (this.pos === this.limit && this.queuedBytes > 0) {
      this.nextChunk();
      if (this.limit - this.pos >= n) return true;
    }
    const have = this.limit - this.pos;
    if (have + this.queuedBytes < n) return false;
    let carry = this.carry;
    if (carry.length < n) {
      carry = new Uint8Array(Math.max(n, carry.length * 2));
      carry.set(this.cur.subarray(this.pos, this.limit));
      this.carry = carry;
      this.carryDv = new DataView(carry.buffer);
    } else if (this.cur === carry) {
      carry.copyWithin(0, this.pos, this.limit);
    } else {
      carry.set(this.cur.subarray(this.pos, this.limit));
    }
    let k = have;
    while (k < n) {
      const c = this.queue[this.qHead]!;
      const take = Math.min(n - k, c.length - this.qPos);
      carry.set(c.subarray(this.qPos, this.qPos + take), k);
      k += take;
      this.qPos += take;
      this.queuedBytes -= take;
      if (this.qPos === c.length) {
        this.queue[this.qHead++] = EMPTY;
        this.qPos = 0;
      }
    }
    this.cur = carry;
    this.dv = this.carryDv;
    this.pos = 0;
    this.limit = n;
    return true;
  }

  /** Moves to the next queued chunk (precondition: cur exhausted, queuedBytes > 0). */
  private nextChunk(): void {
    const c = this.queue[this.qHead]!;
    this.queue[this.qHead++] = EMPTY;
    this.cur = c;
    this.dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
    this.pos = this.qPos;
    this.limit = c.length;
    this.queuedBytes -= c.length - this.qPos;
    this.qPos = 0;
  }

  /** Bytes buffered and not yet consumed. */
  private buffered(): number {
    return this.limit - this.pos + this.queuedBytes;
  }

  /** Consumes n bytes (they must be buffered). */
  private skipBytes(n: number): void {
    while (n > 0) {
      if (this.pos === this.limit) this.nextChunk();
      const take = Math.min(n, this.limit - this.pos);
      this.pos += take;
      this.offset += take;
      n -= take;
    }
  }

  /** Drops every buffered byte (end of a truncated capture under skipBadRecords). */
  private dropAll(): void {
    this.skipBytes(this.buffered());
  }

  /**
   * Called when `n` bytes are needed but not buffered: waits for more input, or at the end
   * reports a truncated `what` (unless nothing at all is left, a clean end).
   */
  private starved(n: number, what: string): null {
    if (!this.ended) return null;
    const have = this.buffered();
    if (have > 0) {
      this.bad(this.offset, `truncated ${what}: ${have} of ${n} bytes`);
      this.dropAll();
    }
    this.state = S_DONE;
    return null;
  }

  /** Reports a recoverable error: throws, or under skipBadRecords records it and returns. */
  private bad(offset: number, reason: string): void {
    const err = new PcapError(offset, reason);
    if (!this.skipBad) {
      this.failed = err;
      throw err;
    }
    this.skipped++;
    if (this.errors.length < MAX_KEPT_ERRORS) this.errors.push(err);
    this.onSkip?.(err);
  }

  /** Reports an unrecoverable error: always throws. */
  private fatal(offset: number, reason: string): never {
    const err = new PcapError(offset, reason);
    this.failed = err;
    throw err;
  }

  // ---- format detection and classic pcap -------------------------------------------------------

  private readFileHeader(): boolean {
    if (!this.ensure(4)) {
      if (this.ended) this.fatal(0, `truncated file header: ${this.buffered()} of 4 magic bytes`);
      return false;
    }
    const magicBe = this.dv.getUint32(this.pos, false);
    const magicLe = this.dv.getUint32(this.pos, true);
    if (magicBe === PcapngBlock.SECTION_HEADER) {
      this.format = 'pcapng';
      this.state = S_PCAPNG;
      return true;
    }
    let le: boolean;
    if (magicBe === PCAP_MAGIC_MICRO || magicBe === PCAP_MAGIC_NANO) le = false;
    else if (magicLe === PCAP_MAGIC_MICRO || magicLe === PCAP_MAGIC_NANO) le = true;
    else this.fatal(0, `bad magic 0x${magicBe.toString(16).padStart(8, '0')}: not a pcap or pcapng capture`);
    this.format = 'pcap';
    if (!this.ensure(PCAP_FILE_HEADER_LEN)) {
      if (this.ended) this.fatal(0, `truncated file header: ${this.buffered()} of ${PCAP_FILE_HEADER_LEN} bytes`);
      return false;
    }
    const dv = this.dv;
    const p = this.pos;
    const nanosecond = dv.getUint32(p, le) === PCAP_MAGIC_NANO;
    const versionMajor = dv.getUint16(p + 4, le);
    const versionMinor = dv.getUint16(p + 6, le);
    if (versionMajor !== 2) this.fatal(4, `unsupported pcap version ${versionMajor}.${versionMinor}`);
    const snaplen = dv.getUint32(p + 16, le);
    const field = dv.getUint32(p + 20, le);
    const header: PcapFileHeader = {
      littleEndian: le,
      nanosecond,
      versionMajor,
      versionMinor,
      thiszone: dv.getInt32(p + 8, le),
      snaplen,
      linkType: field & 0x03ffffff,
    };
    if (field & 0x04000000) header.fcsLength = (field >>> 28) * 16;
    this.pcapHeader = header;
    this.le = le;
    this.fracMul = nanosecond ? 1 : 1000;
    this.linkType = header.linkType;
    this.capLimit = this.lenientSnaplen || snaplen === 0 ? this.maxCaplen : Math.min(snaplen, this.maxCaplen);
    const iface: CaptureInterface = {
      linkType: header.linkType,
      snaplen,
      tsResolution: nanosecond ? TS_RESOLUTION_NANO : TS_RESOLUTION_MICRO,
      tsOffset: 0,
    };
    if (header.fcsLength !== undefined) iface.fcsLength = header.fcsLength;
    this.interfaces = [iface];
    this.skipBytes(PCAP_FILE_HEADER_LEN);
    this.state = S_PCAP;
    return true;
  }

  /** Whether a plausible classic record header sits at pos (16 bytes buffered). */
  private plausiblePcapHeader(): boolean {
    const dv = this.dv;
    const p = this.pos;
    const le = this.le;
    const caplen = dv.getUint32(p + 8, le);
    const origLen = dv.getUint32(p + 12, le);
    if (caplen > this.capLimit || origLen < caplen || origLen > 0x1000000) return false;
    if (dv.getUint32(p + 4, le) >= (this.fracMul === 1 ? 1e9 : 1e6)) return false;
    if (this.packetCount > 0) {
      const seconds = dv.getUint32(p, le);
      const last = this.record.seconds;
      if (seconds + 3600 < last || seconds > last + 86400) return false;
    }
    return true;
  }

  /** Scans byte by byte for the next plausible record header. False when more input is needed. */
  private resyncPcap(): boolean {
    for (;;) {
      if (!this.ensure(PCAP_RECORD_HEADER_LEN)) {
        if (!this.ended) return false;
        this.dropAll();
        this.state = S_DONE;
        return true;
      }
      if (this.plausiblePcapHeader()) {
        this.state = S_PCAP;
        return true;
      }
      this.pos++;
      this.offset++;
    }
  }

  // ---- pcapng ------------------------------------------------------------------------------

  /**
   * Reads one block at pos. Returns a record for a packet block, `null` when more input is
   * needed (or the stream ended), `undefined` after consuming a non-packet block or changing state.
   */
  private readBlock(): PacketRecord | null | undefined {
    if (!this.ensure(8)) return this.starved(8, 'block header');
    const start = this.offset;
    let type = this.dv.getUint32(this.pos, this.le);
    if (type === PcapngBlock.SECTION_HEADER) {
      if (!this.ensure(12)) return this.starved(12, 'section header block');
      const bomBe = this.dv.getUint32(this.pos + 8, false);
      if (bomBe === PCAPNG_BYTE_ORDER_MAGIC) this.le = false;
      else if (this.dv.getUint32(this.pos + 8, true) === PCAPNG_BYTE_ORDER_MAGIC) this.le = true;
      else {
        if (this.sectionCount === 0) this.fatal(start + 8, `bad pcapng byte-order magic 0x${bomBe.toString(16).padStart(8, '0')}`);
        return this.framingError(start, `bad pcapng byte-order magic 0x${bomBe.toString(16).padStart(8, '0')}`);
      }
    } else if (this.sectionCount === 0) {
      this.fatal(start, 'pcapng stream does not start with a section header block');
    }
    const le = this.le;
    type = this.dv.getUint32(this.pos, le);
    const len = this.dv.getUint32(this.pos + 4, le);
    if (len < 12 || len % 4 !== 0 || len > this.maxBlockLength) {
      const why = len < 12 ? 'is less than 12' : len % 4 !== 0 ? 'is not a multiple of 4' : `exceeds the limit of ${this.maxBlockLength}`;
      if (type === PcapngBlock.SECTION_HEADER && this.sectionCount === 0) this.fatal(start, `section header block length ${len} ${why}`);
      return this.framingError(start, `block type 0x${type.toString(16)} length ${len} ${why}`);
    }
    if (!this.ensure(len)) return this.starved(len, `block (type 0x${type.toString(16)}, length ${len})`);
    const p = this.pos;
    const dv = this.dv;
    const trailer = dv.getUint32(p + len - 4, le);
    if (trailer !== len) {
      return this.framingError(start, `block type 0x${type.toString(16)} length ${len} disagrees with its trailing length ${trailer}`);
    }
    let result: PacketRecord | undefined;
    let problem: string | undefined;
    switch (type) {
      case PcapngBlock.ENHANCED_PACKET: {
        if (len < 32) { problem = `enhanced packet block length ${len} is less than 32`; break; }
        const iface = dv.getUint32(p + 8, le);
        problem = this.fillPacket(iface, dv.getUint32(p + 12, le), dv.getUint32(p + 16, le), dv.getUint32(p + 20, le),
          dv.getUint32(p + 24, le), p + 28, len - 32, start);
        if (problem === undefined) result = this.record;
        break;
      }
      case PcapngBlock.SIMPLE_PACKET: {
        if (len < 16) { problem = `simple packet block length ${len} is less than 16`; break; }
        if (this.ifLinkType.length === 0) { problem = 'simple packet block before any interface description'; break; }
        const origLen = dv.getUint32(p + 8, le);
        const snap = this.interfaces[0]!.snaplen;
        let caplen = Math.min(origLen, len - 16);
        if (snap > 0 && caplen > snap) caplen = snap;
        const rec = this.record;
        rec.seconds = 0;
        rec.nanoseconds = 0;
        problem = this.fillPacket(0, -1, 0, caplen, origLen, p + 12, len - 16, start);
        if (problem === undefined) result = rec;
        break;
      }
      case PcapngBlock.PACKET: {
        if (len < 32) { problem = `packet block length ${len} is less than 32`; break; }
        problem = this.fillPacket(dv.getUint16(p + 8, le), dv.getUint32(p + 12, le), dv.getUint32(p + 16, le),
          dv.getUint32(p + 20, le), dv.getUint32(p + 24, le), p + 28, len - 32, start);
        if (problem === undefined) result = this.record;
        break;
      }
      case PcapngBlock.SECTION_HEADER:
        problem = this.readSectionHeader(p, len, start);
        break;
      case PcapngBlock.INTERFACE_DESCRIPTION:
        problem = this.readInterface(p, len);
        break;
      default:
        break; // Name resolution, statistics, secrets, custom and unknown blocks: skipped.
    }
    if (problem !== undefined) this.bad(start, problem);
    this.pos = p + len;
    this.offset += len;
    return result;
  }

  /**
   * Fills the record from a packet block body; `tsHi` -1 means "no timestamp" (SPB). Returns
   * why the block is bad, or undefined.
   */
  private fillPacket(iface: number, tsHi: number, tsLo: number, caplen: number, origLen: number,
    dataOffset: number, room: number, start: number): string | undefined {
    if (iface >= this.ifLinkType.length) return `packet for interface ${iface} but the section has ${this.ifLinkType.length} interfaces`;
    if (caplen > room) return `packet caplen ${caplen} exceeds the block's room of ${room} bytes`;
    if (caplen > this.ifCapLimit[iface]!) return `packet caplen ${caplen} exceeds the limit of ${this.ifCapLimit[iface]} (interface ${iface} snaplen ${this.interfaces[iface]!.snaplen})`;
    const rec = this.record;
    if (tsHi >= 0) {
      ticksToTime(tsHi, tsLo, this.ifTsResol[iface]!, rec);
      rec.seconds += this.ifTsOffset[iface]!;
    }
    rec.caplen = caplen;
    rec.origLen = origLen;
    rec.interfaceId = iface;
    rec.linkType = this.ifLinkType[iface]!;
    rec.buffer = this.cur;
    rec.offset = dataOffset;
    rec.recordOffset = start;
    rec.index = this.packetCount++;
    return undefined;
  }

  private readSectionHeader(p: number, len: number, start: number): string | undefined {
    const dv = this.dv;
    const le = this.le;
    if (len < 28) return `section header block length ${len} is less than 28`;
    const versionMajor = dv.getUint16(p + 12, le);
    const versionMinor = dv.getUint16(p + 14, le);
    if (versionMajor !== 1) {
      if (this.sectionCount === 0) this.fatal(start + 12, `unsupported pcapng version ${versionMajor}.${versionMinor}`);
      return `unsupported pcapng version ${versionMajor}.${versionMinor}`;
    }
    const hi = dv.getUint32(p + 16, le);
    const lo = dv.getUint32(p + 20, le);
    const section: PcapngSection = {
      littleEndian: le,
      versionMajor,
      versionMinor,
      sectionLength: hi === 0xffffffff && lo === 0xffffffff ? -1 : hi < 0x200000 ? hi * 0x100000000 + lo : -1,
      offset: start,
      comments: [],
    };
    const problem = walkPcapngOptions(dv, p + 24, p + len - 4, le, (code, off, length) => {
      if (code === PcapngOption.COMMENT) section.comments.push(optionString(dv, off, length));
      else if (code === PcapngOption.SHB_HARDWARE) section.hardware = optionString(dv, off, length);
      else if (code === PcapngOption.SHB_OS) section.os = optionString(dv, off, length);
      else if (code === PcapngOption.SHB_USERAPPL) section.userAppl = optionString(dv, off, length);
    });
    // A new section always resets the interfaces, even if its options are bad.
    this.section = section;
    this.sectionCount++;
    this.interfaces = [];
    this.ifLinkType = [];
    this.ifTsResol = [];
    this.ifTsOffset = [];
    this.ifCapLimit = [];
    return problem;
  }

  private readInterface(p: number, len: number): string | undefined {
    const dv = this.dv;
    const le = this.le;
    if (len < 20) return `interface description block length ${len} is less than 20`;
    const iface: CaptureInterface = {
      linkType: dv.getUint16(p + 8, le),
      snaplen: dv.getUint32(p + 12, le),
      tsResolution: TS_RESOLUTION_MICRO,
      tsOffset: 0,
    };
    let problem = walkPcapngOptions(dv, p + 16, p + len - 4, le, (code, off, length) => {
      if (code === PcapngOption.IF_TSRESOL && length >= 1) iface.tsResolution = dv.getUint8(off);
      else if (code === PcapngOption.IF_TSOFFSET && length >= 8) {
        iface.tsOffset = dv.getInt32(off + (le ? 4 : 0), le) * 0x100000000 + dv.getUint32(off + (le ? 0 : 4), le);
      } else if (code === PcapngOption.IF_NAME) iface.name = optionString(dv, off, length);
      else if (code === PcapngOption.IF_DESCRIPTION) iface.description = optionString(dv, off, length);
      else if (code === PcapngOption.IF_FCSLEN && length >= 1) iface.fcsLength = dv.getUint8(off);
    });
    if (problem === undefined && (iface.tsResolution & 0x7f) > 63) problem = `if_tsresol 0x${iface.tsResolution.toString(16)} is out of range`;
    // The interface is registered even when its options are bad, so later ids stay aligned.
    if (problem !== undefined) iface.tsResolution = TS_RESOLUTION_MICRO;
    this.interfaces.push(iface);
    this.ifLinkType.push(iface.linkType);
    this.ifTsResol.push(iface.tsResolution);
    this.ifTsOffset.push(iface.tsOffset);
    this.ifCapLimit.push(this.lenientSnaplen || iface.snaplen === 0 ? this.maxCaplen : Math.min(iface.snaplen, this.maxCaplen));
    return problem;
  }

  /** Broken block framing: report, then scan for the next plausible block. */
  private framingError(start: number, reason: string): undefined {
    this.bad(start, reason);
    this.skipBytes(4);
    this.state = S_PCAPNG_RESYNC;
    return undefined;
  }

  /** Scans on 4-byte steps for a known block type whose lengths agree. False when more input is needed. */
  private resyncPcapng(): boolean {
    for (;;) {
      if (!this.ensure(12)) {
        if (!this.ended) return false;
        this.dropAll();
        this.state = S_DONE;
        return true;
      }
      const le = this.le;
      const type = this.dv.getUint32(this.pos, le);
      const len = this.dv.getUint32(this.pos + 4, le);
      if (KNOWN_BLOCKS.has(type) && len >= 12 && len % 4 === 0 && len <= this.maxBlockLength) {
        if (!this.ensure(len)) {
          if (!this.ended) return false;
        } else if (this.dv.getUint32(this.pos + len - 4, le) === len) {
          this.state = S_PCAPNG;
          return true;
        }
      }
      this.skipBytes(4);
    }
  }
}

/**
 * Reads a whole capture held in memory: `for (const p of readCapture(bytes)) ...`. The
 * returned reader has been ended, so iteration runs to the end (or throws {@link PcapError}).
 */
export function readCapture(bytes: Uint8Array, options?: CaptureReaderOptions): CaptureReader {
  return new CaptureReader(options).push(bytes).end();
}

/**
 * Reads a capture from an async (or sync) iterable of chunks — a `fs.createReadStream`, a
 * `fetch` body reader, an array — yielding the reader's reused {@link PacketRecord}.
 */
export async function* readCaptureStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options?: CaptureReaderOptions,
): AsyncGenerator<PacketRecord, void, undefined> {
  const reader = new CaptureReader(options);
  for await (const chunk of source) {
    reader.push(chunk);
    for (let p = reader.read(); p !== null; p = reader.read()) yield p;
  }
  reader.end();
  for (let p = reader.read(); p !== null; p = reader.read()) yield p;
}
