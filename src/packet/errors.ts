// Typed errors of the packet module: malformed capture files and invalid builder input.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/**
 * A capture file (pcap or pcapng) that cannot be read: bad magic, truncated header or record,
 * an absurd length, a pcapng block whose lengths disagree. `offset` is the byte offset in the
 * stream where the offending header or record starts.
 */
export class PcapError extends BpfkitError {
  constructor(
    /** Byte offset in the capture stream of the header, record or block at fault. */
    readonly offset: number,
    /** One-line description of what is wrong, without the offset. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_PCAP_MALFORMED', `malformed capture at offset ${offset}: ${reason}`, options);
  }
}

/** A packet builder or address parser was given a value it cannot encode. */
export class PacketBuildError extends BpfkitError {
  constructor(
    /** The option or argument at fault (`'src'`, `'vlan'`, `'payload'`). */
    readonly field: string,
    /** What is wrong with it. */
    readonly reason: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_PACKET_BUILD', `${field}: ${reason}`, options);
  }
}
