// CPU lists and hex masks as the kernel prints and parses them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCpuList, formatCpuMask, parseCpuList, parseCpuMask } from '../../src/nic/cpu-list.js';

test('lists: ranges, singles, round trip', () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList(''), []);
  assert.equal(formatCpuList([11, 0, 1, 2, 3, 8, 10]), '0-3,8,10-11');
  assert.equal(formatCpuList([]), '');
  assert.throws(() => parseCpuList('3-1'));
  assert.throws(() => parseCpuList('a'));
});

test('masks: 32-bit words, most significant first', () => {
  assert.deepEqual(parseCpuMask('00000000,0000000f'), [0, 1, 2, 3]);
  assert.deepEqual(parseCpuMask('1,00000001'), [0, 32]);
  assert.deepEqual(parseCpuMask('0'), []);
  assert.equal(formatCpuMask([0, 1]), '3');
  assert.equal(formatCpuMask([0, 33]), '2,00000001');
  assert.equal(formatCpuMask([]), '0');
  assert.deepEqual(parseCpuMask(formatCpuMask([5, 31, 63, 64])), [5, 31, 63, 64]);
  assert.throws(() => parseCpuMask('xyz'));
});
