// User ring buffers: records produced from user space (libbpf's user_ring_buffer__reserve/submit/discard) and drained
// by bpf_user_ringbuf_drain — the same sequences in the kernel (producer over the mmap'd pages, BPF_PROG_TEST_RUN of
// the draining program) and in bpfkit, results compared; plus the producer's own rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHelperEnv } from '../../src/ctx/helpers/env.js';
import { userRingbufHelpers } from '../../src/ctx/helpers/user-ringbuf-helpers.js';
import { loadObject } from '../../src/elf/index.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import type { MapFd } from '../../src/kernel/bpf/map-fd.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import type { Mapping, Sys } from '../../src/kernel/sys.js';
import { MapErrno, MapOperationError } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { UserRingbufMap } from '../../src/maps/user-ringbuf.js';
import { loadUserspace, type UserspaceObject } from '../../src/runtime/index.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';
import { mapsMoreObject } from './maps-more.js';

const PAGE = 4096;
const BUSY = 0x80000000;
const DISCARD = 0x40000000;

/** libbpf's user ring buffer producer over the kernel map's pages (consumer page read-only, producer page and data read-write). */
class KernelProducer implements Disposable {
  private readonly consumer: Mapping;
  private readonly rest: Mapping;
  private readonly size: number;
  constructor(
    private readonly sys: Sys,
    fd: MapFd,
    size: number,
  ) {
    this.size = size;
    this.consumer = sys.mmap(fd.raw, PAGE, 1, 1, 0);
    this.rest = sys.mmap(fd.raw, PAGE + 2 * size, 3, 1, PAGE);
  }
  private view(m: Mapping): DataView {
    return new DataView(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
  }
  get consumerPos(): number {
    return Number(this.view(this.consumer).getBigUint64(0, true));
  }
  get producerPos(): number {
    return Number(this.view(this.rest).getBigUint64(0, true));
  }
  /** user_ring_buffer__reserve: the header position, or -1 (ENOSPC). */
  reserve(size: number): number {
    const total = (size + 8 + 7) & ~7;
    if (total > this.size) throw new Error('E2BIG');
    const prod = this.producerPos;
    if (total > this.size - (prod - this.consumerPos)) return -1;
    const v = this.view(this.rest);
    v.setUint32(PAGE + (prod % this.size), (size | BUSY) >>> 0, true);
    v.setUint32(PAGE + ((prod + 4) % this.size), 0, true);
    v.setBigUint64(0, BigInt(prod + total), true);
    return prod;
  }
  submit(pos: number, data: Uint8Array, discard: boolean): void {
    const off = PAGE + ((pos + 8) % this.size);
    this.rest.bytes.set(data, off); // the data pages are mapped twice: a record may run past the end
    this.view(this.rest).setUint32(PAGE + (pos % this.size), discard ? (data.length | DISCARD) >>> 0 : data.length, true);
  }
  [Symbol.dispose](): void {
    this.sys.munmap(this.consumer);
    this.sys.munmap(this.rest);
  }
}

/** The fixture's xdp_drain in userspace with the drain helpers supplied (see the report: the prototype table lacks them). */
function userDrain(): UserspaceObject {
  const holder: { obj?: UserspaceObject } = {};
  const env = createHelperEnv({ mapByAddress: (a) => holder.obj?.mapByAddress(a) });
  holder.obj = loadUserspace(loadObject(mapsMoreObject(), { objectName: 'maps_more' }), { programs: ['xdp_drain'], verify: false, helpers: userRingbufHelpers(env) });
  return holder.obj;
}

const s64 = (b: Uint8Array | undefined): bigint => (b ? new DataView(b.buffer, b.byteOffset).getBigInt64(0, true) : -999n);

kernelTest('differential: samples produced from user space, drained by bpf_user_ringbuf_drain — counts, sums, stops, discards, positions match the kernel', (sys) => {
  using kernel = loadKernelObject(sys, loadObject(mapsMoreObject(), { objectName: 'maps_more' }));
  using user = userDrain();
  const size = kernel.map('user_rb').maxEntries;
  using producer = new KernelProducer(sys, kernel.map('user_rb').fd, size);
  const ours = user.mapOps.get('user_rb') as UserRingbufMap;
  const rng = prng(0x05e4);
  const packet = new Uint8Array(64);
  let drains = 0;
  let samples = 0;
  let busyDrains = 0;
  for (let round = 0; round < 60; round++) {
    const n = rng.int(12);
    for (let i = 0; i < n; i++) {
      const len = rng.pick([0, 2, 4, 4, 8, 13, 100, 700]);
      const data = new Uint8Array(len);
      for (let j = 0; j < len; j++) data[j] = rng.int(256);
      if (len >= 4 && rng.chance(0.1)) data.set(u32(0xdead), 0);
      const discard = rng.chance(0.15);
      const kp = producer.reserve(len);
      const us = ours.reserve(len);
      assert.equal(us !== undefined, kp >= 0, `round ${round}: room for ${len} bytes`);
      if (kp < 0 || !us) continue;
      us.data.set(data);
      producer.submit(kp, data, discard);
      if (discard) ours.discard(us);
      else ours.submit(us);
      samples++;
    }
    if (rng.chance(0.25)) continue; // let the ring fill
    const k = kernel.program('xdp_drain').testRun({ dataIn: packet });
    const u = user.program('xdp_drain').testRun({ data: packet });
    drains++;
    assert.equal(u.retval, k.retval, `round ${round}: retval`);
    for (const key of [0, 1, 2]) assert.equal(s64(user.bpfMap('drain_out').get(u32(key))), s64(kernel.map('drain_out').get(u32(key))), `round ${round}: drain_out[${key}]`);
    if (s64(kernel.map('drain_out').get(u32(0))) > 0n) busyDrains++;
    assert.equal(ours.consumerPos, producer.consumerPos, `round ${round}: consumer position`);
    assert.equal(ours.producerPos, producer.producerPos, `round ${round}: producer position`);
  }
  assert.ok(drains > 30 && samples > 150 && busyDrains > 20, `${drains} drains (${busyDrains} took samples), ${samples} samples`);
  process.stdout.write(`# user ring buffer: ${samples} samples, ${drains} drains agreed with the kernel\n`);
});

test('user ring buffer producer: E2BIG for a record larger than the ring, ENOSPC (undefined) when full, busy records stop the drain', () => {
  const rb = createMap({ name: 'u', type: BpfMapType.USER_RINGBUF, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 }, { space: new AddressSpace(), cpus: 1 }) as UserRingbufMap;
  assert.throws(() => rb.reserve(4096 - 7), (e: unknown) => e instanceof MapOperationError && e.errno === MapErrno.E2BIG);
  const a = rb.reserve(4096 - 8 - 8)!;
  assert.ok(a);
  assert.equal(rb.reserve(1), undefined, 'full');
  const seen: number[] = [];
  assert.equal(rb.drain((_, n) => (seen.push(n), 0), 0), 0, 'a busy record stops the drain');
  rb.submit(a);
  assert.equal(rb.drain((_, n) => (seen.push(n), 0), 0), 1);
  assert.deepEqual(seen, [4080]);
  assert.equal(rb.drain(() => 0, 4), -MapErrno.EINVAL, 'flags other than the wakeup bits');
  assert.ok(rb.produce(new Uint8Array([1, 2, 3])));
  assert.equal(rb.drain(() => 1, 0), 1, 'a callback returning 1 stops after that sample');
  assert.throws(() => rb.submit(a), MapOperationError, 'a committed record is not busy');
  assert.equal(rb.write(new Uint8Array(0), new Uint8Array(0), 0), -MapErrno.ENOTSUPP);
});
