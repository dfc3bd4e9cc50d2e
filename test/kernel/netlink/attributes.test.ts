// Netlink attributes: writer layout byte for byte, strict parser bounds, typed getters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AttrWriter, NLA_F_NESTED, parseAttrs } from '../../../src/kernel/netlink/attributes.js';
import { NetlinkParseError } from '../../../src/kernel/netlink/netlink-error.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('writer lays out headers, payloads and padding like the kernel (nla_put)', () => {
  const bytes = new AttrWriter().u8(1, 0xab).u16(2, 0x1234).u32(3, 0xdeadbeef).string(4, 'lo').flag(5).finish();
  assert.equal(
    hex(bytes),
    '0500' + '0100' + 'ab000000' + // len 5, type 1, u8 + 3 pad
      '0600' + '0200' + '34120000' + // len 6, u16 + 2 pad
      '0800' + '0300' + 'efbeadde' + // len 8, u32
      '0700' + '0400' + '6c6f0000' + // len 7 "lo\0" + 1 pad
      '0400' + '0500', // flag: header only
  );
});

test('u64, s32, bytes and nested (NLA_F_NESTED set) round-trip through parseAttrs', () => {
  const bytes = new AttrWriter()
    .u64(1, 0x0123456789abcdefn)
    .s32(2, -5)
    .bytes(3, new Uint8Array([1, 2, 3]))
    .nested(4, (w) => w.u32(1, 7).string(2, 'eth0'))
    .finish();
  const a = parseAttrs(bytes);
  assert.equal(a.u64(1), 0x0123456789abcdefn);
  assert.equal(a.s32(2), -5);
  assert.deepEqual([...(a.get(3) ?? [])], [1, 2, 3]);
  assert.equal(a.list[3]?.flags, NLA_F_NESTED);
  const inner = a.nested(4);
  assert.equal(inner?.u32(1), 7);
  assert.equal(inner?.string(2), 'eth0');
  assert.equal(a.u32(99), undefined);
  assert.equal(a.has(3), true);
  assert.equal(a.has(9), false);
  assert.deepEqual([...a].map(([t]) => t), [1, 2, 3, 4]);
});

test('repeated types: get returns the last (nla_parse), all returns every one', () => {
  const a = parseAttrs(new AttrWriter().u32(1, 10).u32(2, 0).u32(1, 11).finish());
  assert.equal(a.u32(1), 11);
  assert.deepEqual(a.all(1).map((p) => new DataView(p.buffer, p.byteOffset).getUint32(0, true)), [10, 11]);
});

test('a missing final padding is accepted; stray bytes, short and overlong lengths are typed errors', () => {
  // u8 attribute without its 3 padding bytes at the end of the stream
  assert.equal(parseAttrs(new Uint8Array([5, 0, 1, 0, 9])).u8(1), 9);
  const cases: [string, number[]][] = [
    ['stray', [8, 0, 1, 0, 1, 2, 3, 4, 0, 0]],
    ['short header length', [2, 0, 1, 0]],
    ['past the end', [12, 0, 1, 0, 1, 2, 3, 4]],
  ];
  for (const [label, bytes] of cases) {
    assert.throws(() => parseAttrs(new Uint8Array(bytes)), NetlinkParseError, label);
  }
  assert.throws(() => parseAttrs(new Uint8Array(4), 2, 8), NetlinkParseError);
  // a u32 getter on a 2-byte payload
  const a = parseAttrs(new AttrWriter().u16(1, 3).finish());
  assert.throws(() => a.u32(1), (e: unknown) => e instanceof NetlinkParseError && /expected 4/.test(e.message));
});

test('the parser never throws anything but NetlinkParseError on random bytes', () => {
  let seed = 12345;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 3000; i++) {
    const bytes = new Uint8Array(rnd() % 40);
    for (let j = 0; j < bytes.length; j++) bytes[j] = rnd() & 0xff;
    if (bytes.length >= 2) bytes[0] = (rnd() % 24) & 0xff;
    try {
      const a = parseAttrs(bytes);
      for (const [t] of a) a.nested(t);
    } catch (e) {
      assert.ok(e instanceof NetlinkParseError, String(e));
    }
  }
});

test('writer rejects a NUL inside a string and out-of-range types', () => {
  assert.throws(() => new AttrWriter().string(1, 'a\0b'), RangeError);
  assert.throws(() => new AttrWriter().u32(0x10000, 1), RangeError);
});
