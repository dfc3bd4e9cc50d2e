// jhash: lookup3's published vectors (the kernel's jhash is hashlittle); the differential hash/bloom tests check it against the kernel itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jhash, JHASH_INITVAL } from '../../src/maps/jhash.js';

const text = (s: string) => new TextEncoder().encode(s);

test('jhash matches lookup3 hashlittle vectors', () => {
  assert.equal(jhash(new Uint8Array(0), 0, 0, 0), JHASH_INITVAL);
  assert.equal(jhash(text('Four score and seven years ago'), 0, 30, 0), 0x17770551);
  assert.equal(jhash(text('Four score and seven years ago'), 0, 30, 1), 0xcd628161);
});

test('jhash reads at an offset without touching bytes around the key', () => {
  const buf = new Uint8Array(40).fill(0xaa);
  buf.set(text('Four score and seven years ago'), 5);
  assert.equal(jhash(buf, 5, 30, 0), 0x17770551);
});
