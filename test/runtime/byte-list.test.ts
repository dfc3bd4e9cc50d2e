// parseByteList: bpftool's key/value grammar (hex mode, decimal, 0x, octal), sizes and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatByteList, parseByteList } from '../../src/runtime/byte-list.js';
import { ByteListError } from '../../src/runtime/errors.js';

test('hex mode reads every byte as hex; plain words are decimal, 0x hex or 0-prefixed octal', () => {
  assert.deepEqual(parseByteList('hex 0a 00 ff 7F'), new Uint8Array([10, 0, 255, 127]));
  assert.deepEqual(parseByteList(['hex', '0a', '10']), new Uint8Array([10, 16]));
  assert.deepEqual(parseByteList('10 0 255 0x1f 010'), new Uint8Array([10, 0, 255, 31, 8]));
  assert.deepEqual(parseByteList('  1\t2\n3 '), new Uint8Array([1, 2, 3]));
});

test('the size, when given, must match; bad words name the byte', () => {
  assert.deepEqual(parseByteList('1 0 0 0', 4), new Uint8Array([1, 0, 0, 0]));
  assert.throws(() => parseByteList('1 0 0', 4), (e: unknown) => e instanceof ByteListError && /3 bytes given, 4 expected/.test(e.message) && e.code === 'ERR_BYTE_LIST');
  assert.throws(() => parseByteList('256'), /byte 0 "256" is not a byte/);
  assert.throws(() => parseByteList('hex 0a 100'), /byte 1 "100" is not a hex byte/);
  assert.throws(() => parseByteList('1 two'), /byte 1 "two"/);
  assert.throws(() => parseByteList('hex'), /no bytes/);
  assert.throws(() => parseByteList(''), /no bytes/);
  assert.throws(() => parseByteList('-1'), /not a byte/);
});

test('formatByteList prints what parseByteList reads back in hex mode', () => {
  const b = new Uint8Array([0, 1, 0xab, 0xff]);
  assert.equal(formatByteList(b), '00 01 ab ff');
  assert.deepEqual(parseByteList(`hex ${formatByteList(b)}`), b);
});
