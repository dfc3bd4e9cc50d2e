// Real sockets by fd for kernel comparisons (socket maps need fds): socket/setsockopt/bind/listen/connect through libc with koffi, created inside a network namespace via setns.
import { closeSync, openSync } from 'node:fs';
import koffi from 'koffi';

const libc = koffi.load('libc.so.6');
const sys = {
  socket: libc.func('int socket(int, int, int)'),
  setsockopt: libc.func('int setsockopt(int, int, int, const void *, uint32_t)'),
  getsockopt: libc.func('int getsockopt(int, int, int, _Out_ void *, _Inout_ uint32_t *)'),
  bind: libc.func('int bind(int, const void *, uint32_t)'),
  listen: libc.func('int listen(int, int)'),
  connect: libc.func('int connect(int, const void *, uint32_t)'),
  getsockname: libc.func('int getsockname(int, _Out_ void *, _Inout_ uint32_t *)'),
  close: libc.func('int close(int)'),
  setns: libc.func('int setns(int, int)'),
};

const AF_INET = 2;
const AF_INET6 = 10;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_COOKIE = 57;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const CLONE_NEWNET = 0x40000000;

/** A socket the test made: its fd, bound port and SO_COOKIE. */
export interface RawSocket {
  readonly fd: number;
  readonly port: number;
  readonly cookie: bigint;
}

/** What to make. */
export interface RawSocketSpec {
  readonly protocol: 'tcp' | 'udp';
  /** 4 bytes (AF_INET) or 16 (AF_INET6). */
  readonly address: Uint8Array;
  readonly reuseport?: boolean;
  readonly v6only?: boolean;
  /** Connect (TCP: to this listening port on the same address) instead of listening. */
  readonly connectTo?: number;
}

function check(ret: number, what: string): number {
  if (ret < 0) throw new Error(`${what} failed (errno ${koffi.errno()})`);
  return ret;
}

function sockaddr(address: Uint8Array, port: number): Uint8Array {
  if (address.length === 4) {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint16(0, AF_INET, true);
    new DataView(b.buffer).setUint16(2, port, false);
    b.set(address, 4);
    return b;
  }
  const b = new Uint8Array(28);
  new DataView(b.buffer).setUint16(0, AF_INET6, true);
  new DataView(b.buffer).setUint16(2, port, false);
  b.set(address, 8);
  return b;
}

function int(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** Makes `spec`'s socket in the current network namespace. */
export function makeSocket(spec: RawSocketSpec): RawSocket {
  const v6 = spec.address.length === 16;
  const fd = check(sys.socket(v6 ? AF_INET6 : AF_INET, spec.protocol === 'tcp' ? 1 : 2, 0) as number, 'socket');
  try {
    if (spec.reuseport) check(sys.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, int(1), 4) as number, 'SO_REUSEPORT');
    if (v6) check(sys.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, int(spec.v6only ? 1 : 0), 4) as number, 'IPV6_V6ONLY');
    if (spec.connectTo !== undefined) {
      const to = sockaddr(spec.address, spec.connectTo);
      check(sys.connect(fd, to, to.length) as number, 'connect');
    } else {
      const at = sockaddr(spec.address, 0);
      check(sys.bind(fd, at, at.length) as number, 'bind');
      if (spec.protocol === 'tcp') check(sys.listen(fd, 16) as number, 'listen');
    }
    const name = new Uint8Array(28);
    const len = [28];
    check(sys.getsockname(fd, name, len) as number, 'getsockname');
    const port = new DataView(name.buffer).getUint16(2, false);
    const cookie = new Uint8Array(8);
    check(sys.getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, [8]) as number, 'SO_COOKIE');
    return { fd, port, cookie: new DataView(cookie.buffer).getBigUint64(0, true) };
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}

/** Runs `fn` with this thread in network namespace `name` (/run/netns/NAME), then back in its own. */
export function inNetns<T>(name: string, fn: () => T): T {
  const own = openSync('/proc/thread-self/ns/net', 'r');
  const target = openSync(`/run/netns/${name}`, 'r');
  try {
    check(sys.setns(target, CLONE_NEWNET) as number, `setns ${name}`);
    try {
      return fn();
    } finally {
      check(sys.setns(own, CLONE_NEWNET) as number, 'setns back');
    }
  } finally {
    closeSync(target);
    closeSync(own);
  }
}

/** Closes a socket made by makeSocket. */
export function closeSocket(s: RawSocket): void {
  sys.close(s.fd);
}
