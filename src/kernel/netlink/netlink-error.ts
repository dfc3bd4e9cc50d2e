// Netlink failures as typed errors: a refused request (errno + extended ACK) and malformed replies.
import { BpfkitError } from '../../errors.js';
import { errnoMessage, errnoName } from '../errno.js';
import { KernelError } from '../kernel-error.js';

/** What the kernel's extended ACK said about a failed (or warned-about) request. */
export interface ExtAck {
  /** `NLMSGERR_ATTR_MSG`: the human-readable reason (`'veth: XDP offload not supported'`). */
  readonly message?: string;
  /** `NLMSGERR_ATTR_OFFS`: byte offset in the request (from its nlmsghdr) of the offending attribute. */
  readonly offset?: number;
  /** `NLMSGERR_ATTR_MISS_TYPE`: type of a required attribute that was missing. */
  readonly missingType?: number;
  /** `NLMSGERR_ATTR_MISS_NEST`: offset of the nest in which `missingType` was missing. */
  readonly missingNest?: number;
  /** `NLMSGERR_ATTR_COOKIE`: opaque bytes some families return on success. */
  readonly cookie?: Uint8Array;
}

/**
 * The kernel answered a netlink request with an error ACK. `op` is `netlink(RTM_SETLINK)`;
 * the message adds the extended ACK's text when there is one:
 * `netlink(RTM_SETLINK): EOPNOTSUPP: operation not supported: veth: XDP offload not supported`.
 */
export class NetlinkError extends KernelError {
  /** The request's message type name (`'RTM_SETLINK'`), or its number as text. */
  readonly request: string;
  /** The extended ACK's text, if the kernel gave one. */
  readonly extackMessage: string | undefined;
  /** Offset in the request of the attribute the kernel blamed, if it said. */
  readonly extackOffset: number | undefined;
  /** Type of a missing required attribute, if the kernel said. */
  readonly missingType: number | undefined;

  constructor(request: string, errno: number, extack: ExtAck = {}, options?: { cause?: unknown }) {
    super(`netlink(${request})`, errno, options);
    this.request = request;
    this.extackMessage = extack.message;
    this.extackOffset = extack.offset;
    this.missingType = extack.missingType;
    const details: string[] = [];
    if (extack.message) details.push(extack.message);
    if (extack.missingType !== undefined) details.push(`missing attribute ${extack.missingType}`);
    if (extack.offset !== undefined && !extack.message) details.push(`at request offset ${extack.offset}`);
    this.message = `netlink(${request}): ${errnoName(errno)}: ${errnoMessage(errno)}${details.length ? `: ${details.join(', ')}` : ''}`;
  }
}

/** A netlink message or attribute stream that does not parse: a length past its end, a short header. */
export class NetlinkParseError extends BpfkitError {
  constructor(
    /** Byte offset in the parsed buffer where the problem is. */
    readonly offset: number,
    /** What is wrong there. */
    readonly reason: string,
  ) {
    super('ERR_NETLINK_PARSE', `malformed netlink data at offset ${offset}: ${reason}`);
  }
}
