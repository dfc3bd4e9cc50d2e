// Interface notifications: an rtnetlink socket in the RTMGRP_LINK group, read without blocking on the event loop.
import { Fd } from '../kernel/fd.js';
import { KernelError } from '../kernel/kernel-error.js';
import { parseMessages } from '../kernel/netlink/message.js';
import { decodeLink, RTM } from '../kernel/netlink/rtnetlink.js';
import type { Sys } from '../kernel/sys.js';

const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
const SOCK_NONBLOCK = 0o4000;
const NETLINK_ROUTE = 0;
/** The multicast group of link changes (RTNLGRP_LINK = 1, as the RTMGRP_LINK bit). */
export const RTMGRP_LINK = 1;
const MSG_DONTWAIT = 0x40;
const ENOBUFS = 105;

/** One link change. */
export interface LinkEvent {
  readonly type: 'new' | 'del';
  readonly ifindex: number;
  readonly name: string;
  /** IFF_UP and friends. */
  readonly flags: number;
}

/**
 * Watches link changes (RTM_NEWLINK / RTM_DELLINK) of this network namespace. The socket is
 * non-blocking and read every `intervalMs` on a timer, so the event loop never waits on it.
 * An overrun (ENOBUFS: events were lost) is reported as an event with ifindex 0, meaning
 * "look at everything again".
 */
export class LinkWatcher implements Disposable {
  readonly #fd: Fd<'socket'>;
  readonly #sys: Sys;
  readonly #timer: NodeJS.Timeout;
  readonly #buf = new Uint8Array(64 * 1024);

  constructor(sys: Sys, onEvent: (e: LinkEvent) => void, intervalMs = 100, onError: (err: unknown) => void = () => {}) {
    this.#sys = sys;
    this.#fd = new Fd(sys, sys.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE), 'socket');
    try {
      const addr = new Uint8Array(12);
      const dv = new DataView(addr.buffer);
      dv.setUint16(0, AF_NETLINK, true);
      dv.setUint32(8, RTMGRP_LINK, true);
      sys.bind(this.#fd.raw, addr);
    } catch (err) {
      this.#fd.close();
      throw err;
    }
    this.#timer = setInterval(() => {
      try {
        for (const e of this.poll()) onEvent(e);
      } catch (err) {
        onError(err);
      }
    }, intervalMs);
    this.#timer.unref();
  }

  /** Reads every pending notification now. */
  poll(): LinkEvent[] {
    const out: LinkEvent[] = [];
    if (this.#fd.closed) return out;
    for (;;) {
      let n: number;
      try {
        n = this.#sys.recv(this.#fd.raw, this.#buf, MSG_DONTWAIT);
      } catch (err) {
        if (err instanceof KernelError && err.errno === ENOBUFS) {
          out.push({ type: 'new', ifindex: 0, name: '', flags: 0 });
          continue;
        }
        if (err instanceof KernelError && err.errno === 11) return out; // EAGAIN: nothing more
        throw err;
      }
      if (n <= 0) return out;
      for (const msg of parseMessages(this.#buf.slice(0, n), n)) {
        if (msg.type !== RTM.NEWLINK && msg.type !== RTM.DELLINK) continue;
        const link = decodeLink(msg);
        out.push({ type: msg.type === RTM.NEWLINK ? 'new' : 'del', ifindex: link.ifindex, name: link.name, flags: link.flags });
      }
    }
  }

  /** Stops watching and closes the socket. */
  close(): void {
    clearInterval(this.#timer);
    this.#fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
