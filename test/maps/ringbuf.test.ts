// Ring buffer: record layout, positions, flags and the consumer; the same outputs/reservations as real BPF programs, byte for byte vs the kernel's ring.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, call, exit, jmp, ld, program, st, stx, label } from '../../src/isa/builder.js';
import { encode } from '../../src/isa/encode.js';
import { BpfMapType, BpfProgType } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import type { Sys } from '../../src/kernel/sys.js';
import { MapErrno } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { RingbufFlags, RingbufMap, RingbufQuery, RINGBUF_BUSY_BIT, RINGBUF_DISCARD_BIT } from '../../src/maps/ringbuf.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest } from '../kernel/harness.js';
import { prng } from '../support/mutate.js';

const ring = (size = 4096) => {
  const space = new AddressSpace();
  return { space, rb: createMap({ name: 'rb', type: BpfMapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size, flags: 0 }, { space, cpus: 1 }) as RingbufMap };
};

test('ringbuf: output writes an 8-byte header (len, pg_off) and the sample, 8-byte aligned', () => {
  const { rb } = ring();
  assert.equal(rb.output(new Uint8Array([1, 2, 3]), 0, 3, 0), 0);
  const d = new DataView(rb.data().buffer);
  assert.equal(d.getUint32(0, true), 3);
  assert.equal(d.getUint32(4, true), 3, 'pg_off: the data area starts 3 pages into struct bpf_ringbuf');
  assert.deepEqual([...rb.data().subarray(8, 11)], [1, 2, 3]);
  assert.equal(rb.producerPos, 16);
  assert.equal(rb.query(RingbufQuery.AVAIL_DATA), 16);
  assert.equal(rb.query(RingbufQuery.RING_SIZE), 4096);
  assert.equal(rb.output(new Uint8Array(1), 0, 1, 4), -MapErrno.EINVAL);
  assert.equal(rb.wakeups, 1, 'the consumer was waiting at that record');
  assert.deepEqual([...rb.consume()].map((r) => [...r.data]), [[1, 2, 3]]);
  assert.equal(rb.query(RingbufQuery.CONS_POS), 16);
});

test('ringbuf: reserve gives a pointer programs write through; busy records stop the consumer; discard is skipped', () => {
  const { rb, space } = ring();
  const a = rb.reserve(16, 0);
  const b = rb.reserve(4, 0);
  assert.notEqual(a, 0);
  assert.equal(rb.reserve(4, 1), 0, 'reserve flags must be 0');
  space.write(b, new Uint8Array([9, 9, 9, 9]));
  assert.equal(rb.submit(b, 0), 0);
  assert.deepEqual([...rb.consume()], [], 'the first record is still busy');
  assert.equal(new DataView(rb.data().buffer).getUint32(0, true), (16 | RINGBUF_BUSY_BIT) >>> 0);
  assert.equal(rb.submit(a, RingbufFlags.NO_WAKEUP, true), 0);
  assert.equal(new DataView(rb.data().buffer).getUint32(0, true), (16 | RINGBUF_DISCARD_BIT) >>> 0);
  assert.equal(rb.submit(a, 0), -MapErrno.EINVAL, 'already committed');
  assert.deepEqual([...rb.consume()].map((r) => [...r.data]), [[9, 9, 9, 9]]);
});

test('ringbuf: full -> EAGAIN; a record that wraps reads back whole', () => {
  const { rb } = ring();
  let n = 0;
  while (rb.output(new Uint8Array(1000).fill(n), 0, 1000, 0) === 0) n++;
  assert.equal(n, 4, '4 x 1008 bytes fit in 4096 - 1');
  assert.equal(rb.output(new Uint8Array(1000), 0, 1000, 0), -11);
  assert.equal([...rb.consume()].length, 4);
  assert.equal(rb.output(new Uint8Array(200).map((_, i) => i), 0, 200, 0), 0, 'starts at 4032, wraps');
  const [rec] = [...rb.consume()];
  assert.deepEqual(rec?.data, new Uint8Array(200).map((_, i) => i));
});

/** A socket filter that outputs `size` bytes of a stack pattern with `flags`; returns bpf_ringbuf_output's result. */
function outputProg(mapFd: number, size: number, flags: number, seed: number) {
  const slots = Math.ceil(size / 8);
  return program(
    Array.from({ length: slots }, (_, i) => [ld.imm64(1, BigInt(seed * 1000 + i) * 0x0101010101n), stx.dw(10, -8 * slots + 8 * i, 1)]).flat(),
    ld.map_fd(1, mapFd),
    alu64.mov.reg(2, 10),
    alu64.add.imm(2, -8 * slots),
    alu64.mov.imm(3, size),
    alu64.mov.imm(4, flags),
    call.helper('ringbuf_output'),
    exit(),
  );
}

/** A socket filter that reserves `size` bytes, writes its first and last byte, then submits or discards. Returns 0, or 1 when reserve failed. */
function reserveProg(mapFd: number, size: number, discard: boolean, reserveFlags: number, seed: number) {
  return program(
    ld.map_fd(1, mapFd),
    alu64.mov.imm(2, size),
    alu64.mov.imm(3, reserveFlags),
    call.helper('ringbuf_reserve'),
    jmp.jeq.imm(0, 0, 'fail'),
    alu64.mov.reg(6, 0),
    st.b(6, 0, seed & 0xff),
    st.b(6, size - 1, (seed >> 8) & 0xff),
    alu64.mov.reg(1, 6),
    alu64.mov.imm(2, 0),
    call.helper(discard ? 'ringbuf_discard' : 'ringbuf_submit'),
    alu64.mov.imm(0, 0),
    exit(),
    label('fail'),
    alu64.mov.imm(0, 1),
    exit(),
  );
}

function mmapRing(sys: Sys, fd: number, size: number) {
  const cons = sys.mmap(fd, 4096, 3, 1, 0);
  const prod = sys.mmap(fd, 4096 + 2 * size, 1, 1, 4096);
  return {
    data: () => prod.bytes.slice(4096, 4096 + size),
    producer: () => Number(new DataView(prod.bytes.buffer, prod.bytes.byteOffset).getBigUint64(0, true)),
    setConsumer: (pos: number) => new DataView(cons.bytes.buffer, cons.bytes.byteOffset).setBigUint64(0, BigInt(pos), true),
    close: () => {
      sys.munmap(cons);
      sys.munmap(prod);
    },
  };
}

kernelTest('differential: ringbuf output/reserve/submit/discard from BPF programs: return codes, positions and ring bytes equal the kernel\'s', (sys) => {
  const size = 8192;
  using kmap = createKernelMap(sys, { type: BpfMapType.RINGBUF, keySize: 0, valueSize: 0, maxEntries: size });
  const { rb, space } = ring(size);
  const kernelRing = mmapRing(sys, kmap.raw, size);
  const rng = prng(0x7b);
  const packet = new Uint8Array(64);
  let runs = 0;
  let records = 0;
  let failures = 0;
  try {
    for (let i = 0; i < 160; i++) {
      const seed = rng.int(60000);
      const r = rng.int(10);
      let insns;
      let ours: number;
      if (r < 4) {
        const len = 1 + rng.int(r === 0 ? 512 : 64);
        const flags = rng.pick([0, 0, RingbufFlags.NO_WAKEUP, RingbufFlags.FORCE_WAKEUP, 4]);
        insns = outputProg(kmap.raw, len, flags, seed);
        const slots = Math.ceil(len / 8);
        const buf = new Uint8Array(slots * 8);
        for (let s = 0; s < slots; s++) new DataView(buf.buffer).setBigUint64(s * 8, BigInt(seed * 1000 + s) * 0x0101010101n, true);
        ours = rb.output(buf, 0, len, flags);
      } else {
        const len = 1 + rng.int(r === 9 ? 3000 : 300);
        const discard = rng.chance(0.3);
        const reserveFlags = rng.chance(0.05) ? 1 : 0;
        insns = reserveProg(kmap.raw, len, discard, reserveFlags, seed);
        const p = rb.reserve(len, reserveFlags);
        if (p === 0) ours = 1;
        else {
          space.write(p, new Uint8Array([seed & 0xff]));
          space.write(p + len - 1, new Uint8Array([(seed >> 8) & 0xff]));
          rb.submit(p, 0, discard);
          ours = 0;
        }
      }
      using prog = loadProgram(sys, { type: BpfProgType.SOCKET_FILTER, insns: encode(insns), license: 'GPL' });
      const k = testRun(prog, { dataIn: packet }).retval | 0;
      runs++;
      assert.equal(ours, k, `#${i}: return code`);
      if (ours !== 0) failures++;
      assert.equal(rb.producerPos, kernelRing.producer(), `#${i}: producer position`);
      assert.deepEqual(rb.data(), kernelRing.data(), `#${i}: ring bytes`);
      if (rng.chance(0.25)) {
        records += [...rb.consume()].length;
        kernelRing.setConsumer(rb.consumerPos);
      }
    }
  } finally {
    kernelRing.close();
  }
  assert.ok(failures > 0 && records > 20);
  process.stdout.write(`# ringbuf: ${runs} program runs; return codes, producer positions and all ${size} ring bytes equal to the kernel's after each (${failures} failed reservations, ${records} records consumed)\n`);
});
