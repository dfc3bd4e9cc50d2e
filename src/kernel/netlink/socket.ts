// NetlinkSocket: one AF_NETLINK socket, synchronous request/ACK and dump exchanges through Sys.
import { BpfkitError } from '../../errors.js';
import { Fd } from '../fd.js';
import { KernelError } from '../kernel-error.js';
import type { Sys } from '../sys.js';
import { buildMessage, decodeAck, NLM_F, NLMSG, parseMessages, type NetlinkMessage } from './message.js';
import { NetlinkError } from './netlink-error.js';

/** Netlink protocol numbers (the third argument of socket(AF_NETLINK, ...)). */
export const NetlinkProtocol = { ROUTE: 0, GENERIC: 16 } as const;

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_RCVTIMEO = 20;
const SOL_NETLINK = 270;
const NETLINK_CAP_ACK = 10;
const NETLINK_EXT_ACK = 11;
const NETLINK_GET_STRICT_CHK = 12;
const MSG_PEEK = 0x2;
const MSG_TRUNC = 0x20;
const EAGAIN = 11;
const DUMP_RETRIES = 3;

/** Options of {@link NetlinkSocket.open}. */
export interface NetlinkSocketOptions {
  /** How long one recv may wait before the request fails (SO_RCVTIMEO). Default 5000 ms. */
  timeoutMs?: number;
  /** Names message types for error messages (`16` -> `'RTM_NEWLINK'`). */
  typeName?: (type: number) => string;
  /** Ask the kernel to check dump requests strictly (NETLINK_GET_STRICT_CHK), so header filters apply. Default true. */
  strictCheck?: boolean;
  /** Receive buffer size to start with; grows to fit any datagram. Default 32 KiB. */
  bufferSize?: number;
}

/** Options of one {@link NetlinkSocket.request}. */
export interface NetlinkRequestOptions {
  /** The name used in errors instead of `typeName(type)` (`'ETHTOOL_MSG_CHANNELS_GET'`). */
  name?: string;
}

/** A netlink request that got no answer within the socket's timeout. */
export class NetlinkTimeoutError extends KernelError {
  constructor(request: string, timeoutMs: number, options?: { cause?: unknown }) {
    super(`netlink(${request})`, EAGAIN, { ...options, hint: `no reply within ${timeoutMs} ms` });
  }
}

function sockoptInt(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n, true);
  return b;
}

/**
 * An AF_NETLINK socket. `request()` sends one message with NLM_F_REQUEST|NLM_F_ACK and reads
 * replies until the kernel's ACK (or NLMSG_DONE for a dump) for that sequence number, throwing
 * {@link NetlinkError} (with the extended ACK text) when the kernel refuses. Receives are
 * bounded by SO_RCVTIMEO, so a request cannot hang. Close with `close()` or `using`.
 */
export class NetlinkSocket implements Disposable {
  readonly #fd: Fd<'socket'>;
  readonly #sys: Sys;
  readonly #typeName: (type: number) => string;
  readonly #timeoutMs: number;
  #seq: number;
  #buf: Uint8Array;
  /** The netlink protocol (NETLINK_ROUTE 0, NETLINK_GENERIC 16...). */
  readonly protocol: number;
  /** The port id the kernel gave this socket. */
  readonly portId: number;

  private constructor(sys: Sys, fd: Fd<'socket'>, protocol: number, portId: number, options: NetlinkSocketOptions) {
    this.#sys = sys;
    this.#fd = fd;
    this.protocol = protocol;
    this.portId = portId;
    this.#typeName = options.typeName ?? ((t) => `type ${t}`);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#buf = new Uint8Array(options.bufferSize ?? 32 * 1024);
    this.#seq = Math.floor(Date.now() / 1000) >>> 0;
  }

  /**
   * Opens and binds a netlink socket for `protocol` (NetlinkProtocol.ROUTE, .GENERIC), with
   * extended ACKs (NETLINK_EXT_ACK) and capped ACKs (NETLINK_CAP_ACK) on.
   */
  static open(sys: Sys, protocol: number, options: NetlinkSocketOptions = {}): NetlinkSocket {
    const fd = new Fd(sys, sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol), 'socket');
    try {
      const raw = fd.raw;
      sys.setsockopt(raw, SOL_NETLINK, NETLINK_EXT_ACK, sockoptInt(1));
      sys.setsockopt(raw, SOL_NETLINK, NETLINK_CAP_ACK, sockoptInt(1));
      if (options.strictCheck ?? true) {
        try {
          sys.setsockopt(raw, SOL_NETLINK, NETLINK_GET_STRICT_CHK, sockoptInt(1));
        } catch {
          // Before 4.20: dumps are simply not filtered by the kernel.
        }
      }
      sys.setsockopt(raw, SOL_SOCKET, SO_SNDBUF, sockoptInt(1 << 20));
      sys.setsockopt(raw, SOL_SOCKET, SO_RCVBUF, sockoptInt(1 << 20));
      const timeout = options.timeoutMs ?? 5000;
      const tv = new Uint8Array(16);
      const tvv = new DataView(tv.buffer);
      tvv.setBigInt64(0, BigInt(Math.floor(timeout / 1000)), true);
      tvv.setBigInt64(8, BigInt((timeout % 1000) * 1000), true);
      sys.setsockopt(raw, SOL_SOCKET, SO_RCVTIMEO, tv);
      const addr = new Uint8Array(12);
      new DataView(addr.buffer).setUint16(0, AF_NETLINK, true);
      sys.bind(raw, addr);
      const got = new Uint8Array(12);
      sys.getsockname(raw, got);
      const portId = new DataView(got.buffer).getUint32(4, true);
      return new NetlinkSocket(sys, fd, protocol, portId, options);
    } catch (err) {
      fd.close();
      throw err instanceof BpfkitError ? err.withContext(`open netlink socket (protocol ${protocol})`) : err;
    }
  }

  /** The socket's fd (throws after close). */
  get fd(): Fd<'socket'> {
    return this.#fd;
  }

  /**
   * Sends `payload` as message `type` with `flags | NLM_F_REQUEST | NLM_F_ACK` and returns the
   * replies (without the final ACK / DONE). With NLM_F_DUMP in `flags` it collects the whole
   * multipart dump, restarting it (up to 3 times) if the kernel marks it interrupted.
   */
  request(type: number, flags: number, payload: Uint8Array, options: NetlinkRequestOptions = {}): NetlinkMessage[] {
    const name = options.name ?? this.#typeName(type);
    for (let attempt = 0; ; attempt++) {
      const seq = (this.#seq = (this.#seq + 1) >>> 0);
      this.#send(buildMessage(type, flags | NLM_F.REQUEST | NLM_F.ACK, seq, payload), name);
      const { replies, interrupted } = this.#collect(seq, name);
      if (!interrupted) return replies;
      if (attempt + 1 >= DUMP_RETRIES) throw new NetlinkError(name, 4 /* EINTR */, { message: `dump kept changing while read (${DUMP_RETRIES} tries)` });
    }
  }

  #send(msg: Uint8Array, name: string): void {
    try {
      this.#sys.send(this.#fd.raw, msg, 0);
    } catch (err) {
      throw err instanceof BpfkitError ? err.withContext(`netlink(${name}): send`) : err;
    }
  }

  /** Receives one datagram (growing the buffer to fit it) and returns its length. */
  #recv(name: string): number {
    try {
      const real = this.#sys.recv(this.#fd.raw, this.#buf, MSG_PEEK | MSG_TRUNC);
      if (real > this.#buf.length) this.#buf = new Uint8Array(real);
      return this.#sys.recv(this.#fd.raw, this.#buf, 0);
    } catch (err) {
      if (err instanceof KernelError && err.errno === EAGAIN) throw new NetlinkTimeoutError(name, this.#timeoutMs, { cause: err });
      throw err instanceof BpfkitError ? err.withContext(`netlink(${name}): recv`) : err;
    }
  }

  #collect(seq: number, name: string): { replies: NetlinkMessage[]; interrupted: boolean } {
    const replies: NetlinkMessage[] = [];
    let interrupted = false;
    for (;;) {
      const n = this.#recv(name);
      // Copy: the receive buffer is reused, replies must outlive it.
      for (const msg of parseMessages(this.#buf.slice(0, n), n)) {
        if (msg.seq !== seq) continue; // a late answer to an earlier, abandoned request
        if (msg.flags & NLM_F.DUMP_INTR) interrupted = true;
        if (msg.type === NLMSG.ERROR) {
          const ack = decodeAck(msg);
          if (ack.errno !== 0) throw new NetlinkError(name, ack.errno, ack.extack);
          return { replies, interrupted };
        }
        if (msg.type === NLMSG.DONE) {
          const ack = decodeAck(msg);
          if (ack.errno !== 0) throw new NetlinkError(name, ack.errno, ack.extack);
          return { replies, interrupted };
        }
        if (msg.type === NLMSG.NOOP) continue;
        if (msg.type === NLMSG.OVERRUN) throw new NetlinkError(name, 105 /* ENOBUFS */, { message: 'receive overrun, messages lost' });
        // A plain (non-dump) reply is still followed by the ACK asked for; keep reading until it.
        replies.push(msg);
      }
    }
  }

  /** Closes the socket; a second call does nothing. */
  close(): void {
    this.#fd.close();
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#fd.closed;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
