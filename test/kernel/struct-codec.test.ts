// StructWriter/StructReader against the generated layouts: offsets, widths, pointers, bitfields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAP_CREATE_ATTR, MAP_ELEM_ATTR, PROG_INFO } from '../../src/kernel/bpf-attr.generated.js';
import { cString, StructFieldError, StructReader, StructWriter } from '../../src/kernel/struct-codec.js';

test('fields land at their uapi offsets, little-endian', () => {
  const w = new StructWriter(MAP_CREATE_ATTR).u32('map_type', 2).u32('key_size', 4).u32('max_entries', 0x01020304).cstring('map_name', 'abc').u64('map_extra', 0x1122334455667788n);
  assert.equal(w.bytes.length, MAP_CREATE_ATTR.size);
  assert.deepEqual([...w.bytes.subarray(0, 4)], [2, 0, 0, 0]);
  assert.deepEqual([...w.bytes.subarray(12, 16)], [4, 3, 2, 1]); // max_entries is the 4th u32
  assert.deepEqual([...w.bytes.subarray(28, 32)], [0x61, 0x62, 0x63, 0]); // map_name at 28
  const r = new StructReader(MAP_CREATE_ATTR, w.bytes);
  assert.equal(r.u32('max_entries'), 0x01020304);
  assert.equal(r.cstring('map_name'), 'abc');
  assert.equal(r.u64('map_extra'), 0x1122334455667788n);
});

test('negative s32 values are stored two\'s complement', () => {
  const w = new StructWriter(MAP_CREATE_ATTR).u32('map_token_fd', -1);
  assert.equal(new StructReader(MAP_CREATE_ATTR, w.bytes).s32('map_token_fd'), -1);
});

test('wrong widths and oversize values are StructFieldErrors', () => {
  const w = new StructWriter(MAP_ELEM_ATTR);
  assert.throws(() => w.u32('key', 1), StructFieldError);
  assert.throws(() => w.u64('map_fd', 1), StructFieldError);
  assert.throws(() => w.u32('map_fd', 2 ** 32), StructFieldError);
  assert.throws(() => w.u64('flags', -1n), StructFieldError);
  assert.throws(() => new StructWriter(MAP_CREATE_ATTR).cstring('map_name', 'x'.repeat(16)), /longer than 15 bytes/);
});

test('pointers are recorded with offset, direction and nesting, not written', () => {
  const key = new Uint8Array(4);
  const value = new Uint8Array(8);
  const w = new StructWriter(MAP_ELEM_ATTR).ptr('key', key).ptr('value', value, 'out');
  assert.deepEqual(w.bytes, new Uint8Array(MAP_ELEM_ATTR.size));
  assert.equal(w.pointers.length, 2);
  assert.deepEqual(w.pointers[0], { offset: 8, target: key, direction: 'in' });
  assert.deepEqual(w.pointers[1], { offset: 16, target: value, direction: 'out' });
  const inner = new StructWriter(PROG_INFO).ptr('map_ids', new Uint8Array(8), 'out');
  const outer = new StructWriter(MAP_ELEM_ATTR).ptr('key', inner.bytes, 'inout', inner.pointers);
  assert.equal(outer.pointers[0]?.pointers?.[0]?.offset, PROG_INFO.fields.map_ids.offset);
});

test('bitfields read their bits; fields past a short buffer read as zero', () => {
  const bytes = new Uint8Array(PROG_INFO.size);
  bytes[PROG_INFO.fields.gpl_compatible.offset] = 0xff;
  assert.equal(new StructReader(PROG_INFO, bytes).u32('gpl_compatible'), 1);
  const short = new StructReader(PROG_INFO, bytes.subarray(0, 64));
  assert.equal(short.u32('verified_insns'), 0);
  assert.equal(short.u64('run_cnt'), 0n);
});

test('cString is NUL-terminated UTF-8', () => {
  assert.deepEqual([...cString('hé')], [0x68, 0xc3, 0xa9, 0]);
});
