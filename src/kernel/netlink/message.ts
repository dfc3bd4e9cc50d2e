// Netlink messages: the nlmsghdr, its flags and control types, and NLMSG_ERROR with extended ACK.
//
//   0               4       6       8               12              16
//   +---------------+-------+-------+---------------+---------------+-------------------+
//   | nlmsg_len u32 | type  | flags | nlmsg_seq u32 | nlmsg_pid u32 | payload ... (pad) |
//   +---------------+-------+-------+---------------+---------------+-------------------+
//   nlmsg_len counts header + payload; messages in one datagram are 4-byte aligned.
import { parseAttrs } from './attributes.js';
import { NetlinkParseError, type ExtAck } from './netlink-error.js';

/** Size of `struct nlmsghdr`. */
export const NLMSG_HDRLEN = 16;

/** Rounds up to the netlink alignment (4 bytes). */
export const nlmsgAlign = (n: number): number => (n + 3) & ~3;

/** `nlmsg_flags` bits (include/uapi/linux/netlink.h). Some values mean different things per request kind. */
export const NLM_F = {
  /** It is a request message. */
  REQUEST: 0x01,
  /** Multipart message, terminated by NLMSG_DONE. */
  MULTI: 0x02,
  /** Reply with an ACK, with zero or an error code. */
  ACK: 0x04,
  /** Echo this request. */
  ECHO: 0x08,
  /** The dump was inconsistent (changed while being read). */
  DUMP_INTR: 0x10,
  /** The dump was filtered as requested. */
  DUMP_FILTERED: 0x20,
  // GET requests
  /** Return the complete table. */
  ROOT: 0x100,
  /** Return all entries matching the criteria. */
  MATCH: 0x200,
  /** Atomic get. */
  ATOMIC: 0x400,
  /** ROOT | MATCH: a dump. */
  DUMP: 0x300,
  // NEW requests
  /** Replace an existing object. */
  REPLACE: 0x100,
  /** Do not touch it if it exists. */
  EXCL: 0x200,
  /** Create it if it does not exist. */
  CREATE: 0x400,
  /** Add to the end of the list. */
  APPEND: 0x800,
  // DELETE requests
  /** Do not delete recursively. */
  NONREC: 0x100,
  /** Delete multiple objects. */
  BULK: 0x200,
  // ACK messages
  /** The request was capped (NETLINK_CAP_ACK): only its header is echoed. */
  CAPPED: 0x100,
  /** Extended ACK TLVs follow. */
  ACK_TLVS: 0x200,
} as const;

/** Control message types. */
export const NLMSG = {
  /** Nothing; ignore. */
  NOOP: 1,
  /** Error (or ACK when the error is 0). */
  ERROR: 2,
  /** End of a multipart dump. */
  DONE: 3,
  /** Data lost. */
  OVERRUN: 4,
  /** First type free for families. */
  MIN_TYPE: 0x10,
} as const;

/** `enum nlmsgerr_attrs`: the extended ACK attributes after an NLMSG_ERROR / NLMSG_DONE. */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3, POLICY: 4, MISS_TYPE: 5, MISS_NEST: 6 } as const;

/** One netlink message: header fields and its payload (a view into the received buffer). */
export interface NetlinkMessage {
  /** `nlmsg_type`. */
  readonly type: number;
  /** `nlmsg_flags`. */
  readonly flags: number;
  /** `nlmsg_seq`. */
  readonly seq: number;
  /** `nlmsg_pid` (the port id). */
  readonly pid: number;
  /** The bytes after the header, `nlmsg_len - 16` of them. */
  readonly payload: Uint8Array;
}

/** An NLMSG_ERROR (or NLMSG_DONE) decoded: the errno (0 for an ACK) and the extended ACK. */
export interface NetlinkAck {
  /** Positive errno, or 0 for success. */
  readonly errno: number;
  /** Header of the request the ACK answers (type, flags, seq), when present. */
  readonly request: { readonly len: number; readonly type: number; readonly flags: number; readonly seq: number } | undefined;
  /** The extended ACK attributes. */
  readonly extack: ExtAck;
}

/** Encodes one message: header (`nlmsg_len` computed) + payload + padding. */
export function buildMessage(type: number, flags: number, seq: number, payload: Uint8Array, pid = 0): Uint8Array {
  const len = NLMSG_HDRLEN + payload.length;
  const out = new Uint8Array(nlmsgAlign(len));
  const v = new DataView(out.buffer);
  v.setUint32(0, len, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq >>> 0, true);
  v.setUint32(12, pid >>> 0, true);
  out.set(payload, NLMSG_HDRLEN);
  return out;
}

/**
 * Splits the first `length` bytes of `buf` (one received datagram) into messages. Strict: a
 * header past the end, `nlmsg_len` < 16 or running past `length` throw {@link NetlinkParseError}.
 */
export function parseMessages(buf: Uint8Array, length: number = buf.length): NetlinkMessage[] {
  if (length < 0 || length > buf.length) throw new NetlinkParseError(0, `length ${length} outside a ${buf.length}-byte buffer`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NetlinkMessage[] = [];
  let at = 0;
  while (at < length) {
    if (length - at < NLMSG_HDRLEN) throw new NetlinkParseError(at, `${length - at} bytes left, too short for a message header`);
    const len = v.getUint32(at, true);
    if (len < NLMSG_HDRLEN) throw new NetlinkParseError(at, `nlmsg_len ${len} shorter than the header`);
    if (len > length - at) throw new NetlinkParseError(at, `nlmsg_len ${len} runs past the datagram (${length - at} bytes left)`);
    out.push({
      type: v.getUint16(at + 4, true),
      flags: v.getUint16(at + 6, true),
      seq: v.getUint32(at + 8, true),
      pid: v.getUint32(at + 12, true),
      payload: buf.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at = Math.min(length, at + nlmsgAlign(len));
  }
  return out;
}

/**
 * Decodes the payload of an NLMSG_ERROR message (`struct nlmsgerr` + extended ACK TLVs):
 * `int error; struct nlmsghdr msg; [request payload unless NLM_F_CAPPED]; [TLVs if NLM_F_ACK_TLVS]`.
 * Also decodes NLMSG_DONE (an int, then TLVs), for which `request` is undefined.
 */
export function decodeAck(msg: NetlinkMessage): NetlinkAck {
  const p = msg.payload;
  const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (p.length < 4) throw new NetlinkParseError(NLMSG_HDRLEN, `${msg.type === NLMSG.DONE ? 'NLMSG_DONE' : 'NLMSG_ERROR'} payload of ${p.length} bytes has no error code`);
  const errno = Math.abs(v.getInt32(0, true));
  let request: NetlinkAck['request'];
  let tlvStart = 4;
  if (msg.type === NLMSG.ERROR) {
    if (p.length < 4 + NLMSG_HDRLEN) throw new NetlinkParseError(NLMSG_HDRLEN + 4, `NLMSG_ERROR payload of ${p.length} bytes lacks the request header`);
    request = { len: v.getUint32(4, true), type: v.getUint16(8, true), flags: v.getUint16(10, true), seq: v.getUint32(12, true) };
    // Without CAPPED, the whole request is echoed after the error code.
    tlvStart = msg.flags & NLM_F.CAPPED ? 4 + NLMSG_HDRLEN : 4 + nlmsgAlign(request.len);
  }
  if (!(msg.flags & NLM_F.ACK_TLVS) || tlvStart >= p.length) return { errno, request, extack: {} };
  const attrs = parseAttrs(p, tlvStart);
  const extack: { -readonly [K in keyof ExtAck]: ExtAck[K] } = {};
  const text = attrs.string(NLMSGERR_ATTR.MSG);
  if (text !== undefined) extack.message = text;
  const offs = attrs.u32(NLMSGERR_ATTR.OFFS);
  if (offs !== undefined) extack.offset = offs;
  const miss = attrs.u32(NLMSGERR_ATTR.MISS_TYPE);
  if (miss !== undefined) extack.missingType = miss;
  const nest = attrs.u32(NLMSGERR_ATTR.MISS_NEST);
  if (nest !== undefined) extack.missingNest = nest;
  const cookie = attrs.get(NLMSGERR_ATTR.COOKIE);
  if (cookie !== undefined) extack.cookie = cookie.slice();
  return { errno, request, extack };
}
