// Netlink messages: header encoding, datagram splitting, NLMSG_ERROR with extended ACK (capped and not).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttrWriter } from '../../../src/kernel/netlink/attributes.js';
import { buildMessage, decodeAck, NLM_F, NLMSG, NLMSGERR_ATTR, parseMessages } from '../../../src/kernel/netlink/message.js';
import { NetlinkParseError } from '../../../src/kernel/netlink/netlink-error.js';

test('buildMessage writes nlmsghdr and pads; parseMessages reads several back', () => {
  const m1 = buildMessage(18, NLM_F.REQUEST | NLM_F.DUMP, 7, new Uint8Array([1, 2, 3]), 42);
  assert.equal(m1.length, 20);
  assert.equal(Buffer.from(m1.subarray(0, 16)).toString('hex'), '13000000' + '1200' + '0103' + '07000000' + '2a000000');
  const m2 = buildMessage(NLMSG.DONE, NLM_F.MULTI, 7, new Uint8Array(4));
  const both = new Uint8Array([...m1, ...m2]);
  const msgs = parseMessages(both, both.length);
  assert.deepEqual(msgs.map((m) => [m.type, m.flags, m.seq, m.pid, m.payload.length]), [
    [18, 0x301, 7, 42, 3],
    [NLMSG.DONE, NLM_F.MULTI, 7, 0, 4],
  ]);
});

test('parseMessages: short header, short nlmsg_len, overlong nlmsg_len are typed errors', () => {
  const good = buildMessage(16, 0, 1, new Uint8Array(8));
  assert.throws(() => parseMessages(good, 10), NetlinkParseError);
  const short = good.slice();
  new DataView(short.buffer).setUint32(0, 8, true);
  assert.throws(() => parseMessages(short), NetlinkParseError);
  const long = good.slice();
  new DataView(long.buffer).setUint32(0, 100, true);
  assert.throws(() => parseMessages(long), NetlinkParseError);
  assert.throws(() => parseMessages(good, 99), NetlinkParseError);
});

function errorMessage(errno: number, flags: number, request: Uint8Array, tlvs?: Uint8Array): ReturnType<typeof parseMessages>[number] {
  const capped = (flags & NLM_F.CAPPED) !== 0;
  const echoed = capped ? request.subarray(0, 16) : request;
  const body = new Uint8Array(4 + echoed.length + (tlvs?.length ?? 0));
  new DataView(body.buffer).setInt32(0, -errno, true);
  body.set(echoed, 4);
  if (tlvs) body.set(tlvs, 4 + echoed.length);
  return parseMessages(buildMessage(NLMSG.ERROR, flags, 5, body))[0] as ReturnType<typeof parseMessages>[number];
}

test('decodeAck: capped ACK with extack message, offset and missing type', () => {
  const req = buildMessage(19, NLM_F.REQUEST | NLM_F.ACK, 5, new Uint8Array(20));
  const tlvs = new AttrWriter().string(NLMSGERR_ATTR.MSG, 'veth: XDP offload not supported').u32(NLMSGERR_ATTR.OFFS, 36).u32(NLMSGERR_ATTR.MISS_TYPE, 3).finish();
  const ack = decodeAck(errorMessage(95, NLM_F.CAPPED | NLM_F.ACK_TLVS, req, tlvs));
  assert.equal(ack.errno, 95);
  assert.deepEqual(ack.request, { len: 36, type: 19, flags: 5, seq: 5 });
  assert.deepEqual(ack.extack, { message: 'veth: XDP offload not supported', offset: 36, missingType: 3 });
});

test('decodeAck: uncapped ACK skips the echoed request before the TLVs; plain ACK has errno 0', () => {
  const req = buildMessage(19, NLM_F.REQUEST | NLM_F.ACK, 5, new Uint8Array([9, 9, 9, 9, 9, 9]));
  const tlvs = new AttrWriter().string(NLMSGERR_ATTR.MSG, 'nope').finish();
  assert.equal(decodeAck(errorMessage(22, NLM_F.ACK_TLVS, req, tlvs)).extack.message, 'nope');
  const ok = decodeAck(errorMessage(0, NLM_F.CAPPED, req));
  assert.equal(ok.errno, 0);
  assert.deepEqual(ok.extack, {});
});

test('decodeAck: an NLMSG_ERROR too short for its header is a typed error', () => {
  const msg = parseMessages(buildMessage(NLMSG.ERROR, 0, 1, new Uint8Array(8)))[0];
  assert.ok(msg);
  assert.throws(() => decodeAck(msg), NetlinkParseError);
});
