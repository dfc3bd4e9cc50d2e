// RuntimeMap: the BpfMap API over MapOps — sizes checked, errno kept, per-CPU layout, iteration.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { InvalidKeySizeError, InvalidValueSizeError, MapOperationError } from '../../src/maps/errors.js';
import type { MapDef } from '../../src/maps/map-ops.js';
import { createMap } from '../../src/maps/registry.js';
import { RuntimeMap } from '../../src/maps/runtime-map.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { u32, u64 } from '../kernel/harness.js';

const make = (def: Omit<MapDef, 'name' | 'flags'> & { flags?: number }, cpus = 2): RuntimeMap =>
  new RuntimeMap(createMap({ name: 'm', flags: 0, ...def }, { space: new AddressSpace(), cpus }), cpus);

test('RuntimeMap: get/set/delete with update modes; failures keep the errno', () => {
  const m = make({ type: BpfMapType.HASH, keySize: 4, valueSize: 8, maxEntries: 2 });
  assert.equal(m.perCpu, false);
  assert.equal(m.cpus, 1);
  m.set(u32(1), u64(10));
  m.set(u32(2), u64(20), 'noexist');
  assert.throws(() => m.set(u32(2), u64(21), 'noexist'), (e: unknown) => e instanceof MapOperationError && e.errno === 17 && e.errnoName === 'EEXIST' && e.code === 'ERR_MAP_OPERATION');
  assert.throws(() => m.set(u32(3), u64(30)), (e: unknown) => e instanceof MapOperationError && e.errnoName === 'E2BIG' && /full/.test(e.message));
  assert.throws(() => m.set(u32(3), u64(30), 'exist'), (e: unknown) => e instanceof MapOperationError && e.errnoName === 'ENOENT');
  assert.throws(() => m.get(new Uint8Array(3)), (e: unknown) => e instanceof InvalidKeySizeError && e.size === 3 && e.expected === 4);
  assert.throws(() => m.set(u32(1), u32(1)), (e: unknown) => e instanceof InvalidValueSizeError && e.expected === 8);
  assert.deepEqual(m.get(u32(1)), u64(10));
  assert.deepEqual(m.getPerCpu(u32(1)), [u64(10)]);
  assert.equal(m.delete(u32(1)), true);
  assert.equal(m.delete(u32(1)), false);
  assert.deepEqual([...m.entries()], [[u32(2), u64(20)]]);
  assert.equal(m.size, 1);
});

test('RuntimeMap: per-CPU set replicates, setPerCpu takes one value per CPU, get returns CPU 0', () => {
  const m = make({ type: BpfMapType.PERCPU_HASH, keySize: 4, valueSize: 4, maxEntries: 4 }, 3);
  m.set(u32(1), u32(5));
  assert.deepEqual(m.getPerCpu(u32(1)), [u32(5), u32(5), u32(5)]);
  m.setPerCpu(u32(1), [u32(1), u32(2), u32(3)], 'exist');
  assert.deepEqual(m.get(u32(1)), u32(1));
  assert.deepEqual([...m.entriesPerCpu()], [[u32(1), [u32(1), u32(2), u32(3)]]]);
  assert.throws(() => m.setPerCpu(u32(1), [u32(1)]), MapOperationError);
});

test('RuntimeMap: arrays cannot delete (EINVAL), iterate in index order', () => {
  const m = make({ type: BpfMapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 3 });
  assert.throws(() => m.delete(u32(0)), (e: unknown) => e instanceof MapOperationError && e.errnoName === 'EINVAL');
  assert.deepEqual([...m.keys()], [u32(0), u32(1), u32(2)]);
  assert.throws(() => m.set(u32(3), u32(0)), (e: unknown) => e instanceof MapOperationError && e.errnoName === 'E2BIG');
});

test('RuntimeMap: the CPU count defaults to the map\'s own', () => {
  const ops = createMap({ name: 'p', type: BpfMapType.PERCPU_ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, flags: 0 }, { space: new AddressSpace(), cpus: 5 });
  assert.equal(new RuntimeMap(ops).cpus, 5);
  assert.equal(new RuntimeMap(ops).getPerCpu(u32(0))?.length, 5);
});
