// The packet record a capture reader yields: one reused, mutable view per reader.

import type { TimeParts } from './timestamp.js';

/** A packet copied out of a reader, safe to keep (see {@link PacketRecord.clone}). */
export interface CapturedPacket {
  /** Seconds since the epoch. */
  seconds: number;
  /** Nanoseconds within the second. */
  nanoseconds: number;
  /** Bytes captured (`data.length`). */
  caplen: number;
  /** Length of the packet on the wire (>= caplen when the capture was truncated by snaplen). */
  origLen: number;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId: number;
  /** Link type of the interface (`LinkType.ETHERNET`...). */
  linkType: number;
  /** A copy of the captured bytes. */
  data: Uint8Array;
}

/**
 * One packet from a capture. **A reader returns the same object for every packet** and
 * overwrites it on the next `read()` (or iteration step), so nothing is allocated per packet:
 * read what you need, or {@link clone} it, before asking for the next one. The bytes are
 * `buffer[offset .. offset + caplen)`; `buffer` is either a chunk you pushed (do not modify a
 * chunk after pushing it) or the reader's internal buffer for records split across chunks.
 */
export class PacketRecord implements TimeParts {
  /** Seconds since the epoch (pcapng if_tsoffset applied). */
  seconds = 0;
  /** Nanoseconds within the second, 0..999_999_999, whatever the file's resolution. */
  nanoseconds = 0;
  /** Bytes captured. */
  caplen = 0;
  /** Length of the packet on the wire. */
  origLen = 0;
  /** pcapng interface id (0 for classic pcap and for simple packet blocks). */
  interfaceId = 0;
  /** Link type of the packet's interface. */
  linkType = 0;
  /** Buffer holding the packet bytes at {@link offset}. */
  buffer: Uint8Array = new Uint8Array(0);
  /** Offset of the first packet byte in {@link buffer}. */
  offset = 0;
  /** Byte offset in the capture stream of this packet's record header or block. */
  recordOffset = 0;
  /** 0-based number of this packet among the packets the reader has returned. */
  index = 0;

  /** The packet bytes as a view (allocates a small view object; the hot path can use buffer/offset). */
  get data(): Uint8Array {
    return this.buffer.subarray(this.offset, this.offset + this.caplen);
  }

  /** Timestamp as fractional seconds (a double: loses sub-microsecond precision for current dates). */
  get time(): number {
    return this.seconds + this.nanoseconds / 1e9;
  }

  /** Copies this record into a standalone object that later reads do not overwrite. */
  clone(): CapturedPacket {
    return {
      seconds: this.seconds,
      nanoseconds: this.nanoseconds,
      caplen: this.caplen,
      origLen: this.origLen,
      interfaceId: this.interfaceId,
      linkType: this.linkType,
      data: this.buffer.slice(this.offset, this.offset + this.caplen),
    };
  }
}
