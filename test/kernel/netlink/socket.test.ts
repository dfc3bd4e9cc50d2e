// NetlinkSocket against the kernel: a GET with its ACK, a multipart dump, errors with extended ACK.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { kernelTest } from '../harness.js';
import { AttrWriter, parseAttrs } from '../../../src/kernel/netlink/attributes.js';
import { NLM_F } from '../../../src/kernel/netlink/message.js';
import { NetlinkError } from '../../../src/kernel/netlink/netlink-error.js';
import { NetlinkProtocol, NetlinkSocket } from '../../../src/kernel/netlink/socket.js';

const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;

/** struct ifinfomsg (16 bytes) for `ifindex`. */
function ifinfomsg(ifindex: number, attrs: Uint8Array = new Uint8Array(0)): Uint8Array {
  const b = new Uint8Array(16 + attrs.length);
  new DataView(b.buffer).setInt32(4, ifindex, true);
  b.set(attrs, 16);
  return b;
}

kernelTest('RTM_GETLINK of lo: one reply, name and MTU as ip -j link says', (sys) => {
  using sock = NetlinkSocket.open(sys, NetlinkProtocol.ROUTE);
  assert.ok(sock.portId > 0);
  const replies = sock.request(RTM_GETLINK, 0, ifinfomsg(1));
  assert.equal(replies.length, 1);
  const reply = replies[0];
  assert.ok(reply);
  assert.equal(reply.type, RTM_NEWLINK);
  const attrs = parseAttrs(reply.payload, 16);
  const ipj = JSON.parse(execFileSync('ip', ['-j', 'link', 'show', 'dev', 'lo'], { encoding: 'utf8' })) as { ifname: string; mtu: number }[];
  assert.equal(attrs.string(IFLA_IFNAME), ipj[0]?.ifname);
  assert.equal(attrs.u32(IFLA_MTU), ipj[0]?.mtu);
});

kernelTest('RTM_GETLINK dump: every interface ip -j link lists, in several datagrams if need be', (sys) => {
  using sock = NetlinkSocket.open(sys, NetlinkProtocol.ROUTE, { bufferSize: 512 });
  const replies = sock.request(RTM_GETLINK, NLM_F.DUMP, ifinfomsg(0));
  const ours = replies.map((m) => parseAttrs(m.payload, 16).string(IFLA_IFNAME)).sort();
  const theirs = (JSON.parse(execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' })) as { ifname: string }[]).map((l) => l.ifname).sort();
  // Other helpers create and delete interfaces concurrently: compare the stable ones.
  const stable = theirs.filter((n) => !n.startsWith('bk'));
  for (const n of stable) assert.ok(ours.includes(n), `${n} missing from the dump`);
  assert.ok(replies.length >= 1);
});

kernelTest('an unknown ifindex is ENODEV as a NetlinkError naming the request', (sys) => {
  using sock = NetlinkSocket.open(sys, NetlinkProtocol.ROUTE, { typeName: (t) => (t === RTM_GETLINK ? 'RTM_GETLINK' : String(t)) });
  assert.throws(
    () => sock.request(RTM_GETLINK, 0, ifinfomsg(0x7ffffff0)),
    (e: unknown) => e instanceof NetlinkError && e.errnoName === 'ENODEV' && e.request === 'RTM_GETLINK' && /^netlink\(RTM_GETLINK\): ENODEV/.test(e.message),
  );
  // The socket stays usable after an error.
  assert.equal(sock.request(RTM_GETLINK, 0, ifinfomsg(1)).length, 1);
});

kernelTest('extended ACK: the kernel explains a bad request in words, with the attribute offset', (sys) => {
  using sock = NetlinkSocket.open(sys, NetlinkProtocol.ROUTE);
  // IFLA_IFNAME longer than IFNAMSIZ: rejected by the attribute policy, with an extack message and offset.
  const attrs = new AttrWriter().string(IFLA_IFNAME, 'x'.repeat(40)).finish();
  let err: unknown;
  try {
    sock.request(RTM_GETLINK, 0, ifinfomsg(0, attrs));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof NetlinkError, String(err));
  assert.equal(err.errnoName, 'ERANGE', err.message);
  assert.ok(err.extackMessage && err.extackMessage.length > 0, `no extack message: ${err.message}`);
  assert.equal(err.extackOffset, 16 + 16, 'offset of IFLA_IFNAME: after nlmsghdr and ifinfomsg');
  assert.ok(err.message.includes(err.extackMessage), err.message);
  console.log(`# kernel said: ${err.message}`);
});

kernelTest('closing twice is harmless; a closed socket refuses requests', (sys) => {
  const sock = NetlinkSocket.open(sys, NetlinkProtocol.GENERIC);
  sock.close();
  sock.close();
  assert.equal(sock.closed, true);
  assert.throws(() => sock.request(16, 0, new Uint8Array(4)), /socket fd \d+ used after close/);
});
