// RSS queue selection: Toeplitz hash -> indirection table -> receive queue, like a multi-queue NIC.

import { PacketBuildError } from './errors.js';
import { LinkType } from './link-type.js';
import { ParsedFrame, parseFrame } from './frame-parser.js';
import { MICROSOFT_RSS_KEY, ToeplitzHasher } from './toeplitz.js';

/** Options of {@link RssSpreader}. */
export interface RssSpreaderOptions {
  /** Number of receive queues (>= 1). */
  queues: number;
  /** Hash key. Default {@link MICROSOFT_RSS_KEY}. */
  key?: Uint8Array;
  /** Indirection table size. Default 128 (the usual NIC RETA size). */
  tableSize?: number;
  /** Explicit indirection table (queue per entry); overrides queues/tableSize spreading. */
  table?: readonly number[];
  /** Hash UDP ports too (ethtool `rx-flow-hash udp4 sdfn`). Default true. */
  udpPorts?: boolean;
}

/**
 * Maps frames to receive queues the way a NIC with RSS does: Toeplitz hash of the flow tuple,
 * low bits index an indirection table whose entries are spread round-robin over the queues
 * (`ethtool -X <dev> equal N`: entry i -> i % N). Every packet of a flow lands on the same
 * queue; non-IP frames go to queue 0. `queueOf` allocates nothing.
 */
export class RssSpreader {
  /** The indirection table (entry -> queue). */
  readonly table: Uint16Array;
  /** The hasher. */
  readonly hasher: ToeplitzHasher;
  /** Number of queues. */
  readonly queues: number;
  /** Hash of the frame last given to queueOf (-1 for non-IP). */
  lastHash = -1;
  private readonly frame = new ParsedFrame();
  private readonly udpPorts: boolean;

  constructor(options: RssSpreaderOptions) {
    const queues = options.queues;
    if (!Number.isInteger(queues) || queues < 1 || queues > 0xffff) throw new PacketBuildError('queues', `${queues} is not a queue count in 1..65535`);
    this.queues = queues;
    this.hasher = new ToeplitzHasher(options.key ?? MICROSOFT_RSS_KEY);
    this.udpPorts = options.udpPorts ?? true;
    if (options.table) {
      if (options.table.length === 0) throw new PacketBuildError('table', 'indirection table is empty');
      for (const q of options.table) {
        if (!Number.isInteger(q) || q < 0 || q >= queues) throw new PacketBuildError('table', `entry ${q} is not a queue in 0..${queues - 1}`);
      }
      this.table = Uint16Array.from(options.table);
    } else {
      const size = options.tableSize ?? 128;
      if (!Number.isInteger(size) || size < 1) throw new PacketBuildError('tableSize', `${size} is not a positive integer`);
      this.table = new Uint16Array(size);
      for (let i = 0; i < size; i++) this.table[i] = i % queues;
    }
  }

  /** Queue for an RSS hash value (hash modulo the table size, i.e. its low bits for 128). */
  queueOfHash(hash: number): number {
    return this.table[(hash >>> 0) % this.table.length]!;
  }

  /** Queue of the frame `buf[offset..offset+length)` of `linkType` (default Ethernet). */
  queueOf(buf: Uint8Array, offset = 0, length = buf.length - offset, linkType: number = LinkType.ETHERNET): number {
    parseFrame(buf, offset, length, linkType, this.frame);
    return this.queueOfParsed(buf, this.frame);
  }

  /** Queue of a frame already parsed into `frame`. */
  queueOfParsed(buf: Uint8Array, frame: ParsedFrame): number {
    const h = this.hasher.hashFrame(buf, frame, this.udpPorts);
    this.lastHash = h;
    return h < 0 ? 0 : this.queueOfHash(h);
  }
}
