// NetlinkSocket over a scripted Sys: options set at open, timeouts instead of hangs, stale replies skipped,
// interrupted dumps retried, buffers grown to fit, overruns reported, no fd left behind on a failed open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openFds } from '../../../src/kernel/fd.js';
import { kernelError, KernelError } from '../../../src/kernel/kernel-error.js';
import { buildMessage, NLM_F, NLMSG, parseMessages, type NetlinkMessage } from '../../../src/kernel/netlink/message.js';
import { NetlinkError } from '../../../src/kernel/netlink/netlink-error.js';
import { NetlinkSocket, NetlinkTimeoutError } from '../../../src/kernel/netlink/socket.js';
import type { Sys } from '../../../src/kernel/sys.js';
import { FakeSys } from '../fake-sys.js';

const MSG_PEEK = 0x2;
const MSG_TRUNC = 0x20;

/** A fake kernel end: `answer` turns each request into datagrams (arrays of message bytes). */
class NetlinkFake implements Sys {
  readonly base = new FakeSys();
  readonly closed: number[] = [];
  readonly sent: NetlinkMessage[] = [];
  readonly sockopts: [number, number, Uint8Array][] = [];
  readonly queue: Uint8Array[] = [];
  failBind = false;
  constructor(readonly answer: (req: NetlinkMessage, n: number) => Uint8Array[][]) {}
  bpf: Sys['bpf'] = (c, a, p) => this.base.bpf(c, a, p);
  close = (fd: number): void => void this.closed.push(fd);
  ioctl: Sys['ioctl'] = () => this.base.ioctl();
  mmap: Sys['mmap'] = () => this.base.mmap();
  munmap: Sys['munmap'] = () => this.base.munmap();
  epollCreate1: Sys['epollCreate1'] = () => this.base.epollCreate1();
  epollCtl: Sys['epollCtl'] = () => this.base.epollCtl();
  epollWait: Sys['epollWait'] = () => this.base.epollWait();
  ifNameToIndex: Sys['ifNameToIndex'] = () => this.base.ifNameToIndex();
  getpid: Sys['getpid'] = () => this.base.getpid();
  readFile: Sys['readFile'] = (p) => this.base.readFile(p);
  writeFile: Sys['writeFile'] = (p, d) => this.base.writeFile(p, d);
  listDir: Sys['listDir'] = (p) => this.base.listDir(p);
  socket(): number {
    return 77;
  }
  setsockopt(_fd: number, level: number, name: number, value: Uint8Array): void {
    this.sockopts.push([level, name, value.slice()]);
  }
  bind(): void {
    if (this.failBind) throw kernelError('bind', 98);
  }
  getsockname(_fd: number, addr: Uint8Array): number {
    new DataView(addr.buffer, addr.byteOffset).setUint32(4, 1234, true);
    return 12;
  }
  send(_fd: number, data: Uint8Array): number {
    const req = parseMessages(data.slice())[0] as NetlinkMessage;
    this.sent.push(req);
    for (const dgram of this.answer(req, this.sent.length)) {
      const total = dgram.reduce((s, m) => s + m.length, 0);
      const buf = new Uint8Array(total);
      let at = 0;
      for (const m of dgram) {
        buf.set(m, at);
        at += m.length;
      }
      this.queue.push(buf);
    }
    return data.length;
  }
  recv(_fd: number, buf: Uint8Array, flags: number): number {
    const next = this.queue[0];
    if (!next) throw kernelError('recv', 11); // SO_RCVTIMEO expired
    buf.set(next.subarray(0, Math.min(buf.length, next.length)));
    if (!(flags & MSG_PEEK)) this.queue.shift();
    return flags & MSG_TRUNC ? next.length : Math.min(buf.length, next.length);
  }
}

const ack = (seq: number, errno = 0): Uint8Array => {
  const body = new Uint8Array(20);
  new DataView(body.buffer).setInt32(0, -errno, true);
  return buildMessage(NLMSG.ERROR, NLM_F.CAPPED, seq, body);
};
const done = (seq: number, flags = 0): Uint8Array => buildMessage(NLMSG.DONE, NLM_F.MULTI | flags, seq, new Uint8Array(4));
const data = (seq: number, bytes: number[] | Uint8Array, flags = 0): Uint8Array => buildMessage(16, flags, seq, new Uint8Array(bytes));

test('open sets EXT_ACK, CAP_ACK and the receive timeout, and learns its port id', () => {
  const sys = new NetlinkFake(() => []);
  using sock = NetlinkSocket.open(sys, 0, { timeoutMs: 1500 });
  assert.equal(sock.portId, 1234);
  const has = (level: number, name: number) => sys.sockopts.find(([l, n]) => l === level && n === name);
  assert.ok(has(270, 11), 'NETLINK_EXT_ACK');
  assert.ok(has(270, 10), 'NETLINK_CAP_ACK');
  const tv = has(1, 20)?.[2];
  assert.ok(tv);
  const dv = new DataView(tv.buffer);
  assert.deepEqual([dv.getBigInt64(0, true), dv.getBigInt64(8, true)], [1n, 500_000n]);
});

test('no answer: NetlinkTimeoutError (EAGAIN) instead of waiting forever', () => {
  const sys = new NetlinkFake(() => []);
  using sock = NetlinkSocket.open(sys, 0, { typeName: () => 'RTM_GETLINK', timeoutMs: 250 });
  assert.throws(() => sock.request(18, 0, new Uint8Array(16)), (e: unknown) => e instanceof NetlinkTimeoutError && e instanceof KernelError && e.errnoName === 'EAGAIN' && /netlink\(RTM_GETLINK\).*no reply within 250 ms/.test(e.message));
});

test('replies to other sequence numbers are skipped; the reply before the ACK is returned', () => {
  const sys = new NetlinkFake((req) => [[data(req.seq - 1, [9, 9, 9, 9]), ack(req.seq - 1)], [data(req.seq, [1, 2, 3, 4])], [ack(req.seq)]]);
  using sock = NetlinkSocket.open(sys, 0);
  const replies = sock.request(18, 0, new Uint8Array(16));
  assert.deepEqual(replies.map((m) => [...m.payload]), [[1, 2, 3, 4]]);
  assert.equal((sys.sent[0]?.flags ?? 0) & (NLM_F.REQUEST | NLM_F.ACK), NLM_F.REQUEST | NLM_F.ACK);
});

test('a dump marked interrupted is restarted; the clean one is returned; three interrupted tries fail', () => {
  const sys = new NetlinkFake((req, n) => (n === 1 ? [[data(req.seq, [1], NLM_F.MULTI | NLM_F.DUMP_INTR), done(req.seq, NLM_F.DUMP_INTR)]] : [[data(req.seq, [2], NLM_F.MULTI), data(req.seq, [3], NLM_F.MULTI)], [done(req.seq)]]));
  using sock = NetlinkSocket.open(sys, 0);
  assert.deepEqual(sock.request(18, NLM_F.DUMP, new Uint8Array(16)).map((m) => m.payload[0]), [2, 3]);
  assert.equal(sys.sent.length, 2);
  const always = new NetlinkFake((req) => [[done(req.seq, NLM_F.DUMP_INTR)]]);
  using sock2 = NetlinkSocket.open(always, 0);
  assert.throws(() => sock2.request(18, NLM_F.DUMP, new Uint8Array(16)), (e: unknown) => e instanceof NetlinkError && /kept changing/.test(e.message));
  assert.equal(always.sent.length, 3);
});

test('a datagram larger than the buffer grows it instead of being cut', () => {
  const big = new Uint8Array(5000).map((_, i) => i & 0xff);
  const sys = new NetlinkFake((req) => [[data(req.seq, big)], [ack(req.seq)]]);
  using sock = NetlinkSocket.open(sys, 0, { bufferSize: 64 });
  const [reply] = sock.request(18, 0, new Uint8Array(16));
  assert.deepEqual(reply?.payload, big);
});

test('an error ACK throws NetlinkError with the errno; OVERRUN is ENOBUFS', () => {
  const sys = new NetlinkFake((req) => [[ack(req.seq, 19)]]);
  using sock = NetlinkSocket.open(sys, 0);
  assert.throws(() => sock.request(18, 0, new Uint8Array(16)), (e: unknown) => e instanceof NetlinkError && e.errnoName === 'ENODEV');
  const over = new NetlinkFake((req) => [[buildMessage(NLMSG.OVERRUN, 0, req.seq, new Uint8Array(0))]]);
  using sock2 = NetlinkSocket.open(over, 0);
  assert.throws(() => sock2.request(18, 0, new Uint8Array(16)), (e: unknown) => e instanceof NetlinkError && e.errnoName === 'ENOBUFS');
});

test('a failed open closes the socket fd it made', () => {
  const sys = new NetlinkFake(() => []);
  sys.failBind = true;
  assert.throws(() => NetlinkSocket.open(sys, 16), (e: unknown) => e instanceof KernelError && /open netlink socket \(protocol 16\): bind: EADDRINUSE/.test(e.message));
  assert.deepEqual(openFds(sys), []);
  assert.deepEqual(sys.closed, [77]);
});
