// Codecs from BTF (both byte orders, bitfields, arrays, enums) and typed() over runtime and kernel maps.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { BtfBuilder } from '../../src/btf/builder.js';
import { parseBtf } from '../../src/btf/btf.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import { KernelMap } from '../../src/kernel/kernel-map.js';
import { autoCodec, btfCodec, codecs, sumPerCpu, typed, type BtfValue } from '../../src/maps/codec.js';
import { InvalidKeySizeError } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { RuntimeMap } from '../../src/maps/runtime-map.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest } from '../kernel/harness.js';
import { fixturePath } from '../support/fixtures.js';

interface DataRec {
  rx_packets: bigint;
  rx_bytes: bigint;
}

function statsMap(file: string) {
  const spec = loadObject(new Uint8Array(readFileSync(fixturePath(file))));
  const m = spec.maps.find((x) => x.name === 'xdp_stats_map');
  assert.ok(m && spec.btf && m.valueTypeId && m.keyTypeId);
  return { spec, m, btf: spec.btf, keyTypeId: m.keyTypeId, valueTypeId: m.valueTypeId };
}

test('btfCodec: struct datarec from xdp_stats.o, per-CPU values typed and summed', () => {
  const { m, btf, keyTypeId, valueTypeId } = statsMap('xdp_stats');
  const ops = createMap({ name: m.name, type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags: m.flags }, { space: new AddressSpace(), cpus: 3 });
  const stats = typed(new RuntimeMap(ops, 3), btfCodec<number>(btf, keyTypeId), btfCodec<DataRec>(btf, valueTypeId));
  assert.equal(stats.cpus, 3);
  stats.setPerCpu(2, [
    { rx_packets: 3n, rx_bytes: 180n },
    { rx_packets: 1n, rx_bytes: 60n },
    { rx_packets: 0n, rx_bytes: 0n },
  ]);
  assert.deepEqual(stats.getPerCpu(2), [
    { rx_packets: 3n, rx_bytes: 180n },
    { rx_packets: 1n, rx_bytes: 60n },
    { rx_packets: 0n, rx_bytes: 0n },
  ]);
  assert.deepEqual(sumPerCpu(stats.getPerCpu(2) as unknown as BtfValue[]), { rx_packets: 4n, rx_bytes: 240n });
  assert.deepEqual([...stats.keys()], [0, 1, 2, 3, 4]);
  assert.throws(() => typed(new RuntimeMap(ops, 3), codecs.u64, codecs.bytes(16)), InvalidKeySizeError);
});

test('btfCodec: a big-endian object decodes its own byte order', () => {
  const { btf, valueTypeId } = statsMap('xdp_stats.bpfeb');
  assert.equal(btf.littleEndian, false);
  const codec = btfCodec<DataRec>(btf, valueTypeId);
  const bytes = codec.encode({ rx_packets: 0x0102n, rx_bytes: 5n });
  assert.deepEqual([...bytes.subarray(0, 8)], [0, 0, 0, 0, 0, 0, 1, 2]);
  assert.deepEqual(codec.decode(bytes), { rx_packets: 0x0102n, rx_bytes: 5n });
});

test('btfCodec: ints, signedness, enums, arrays, bitfields, nested structs', () => {
  const b = new BtfBuilder();
  const u8 = b.add({ kind: 'int', name: 'u8', size: 1, signed: false, char: false, bool: false, bitOffset: 0, bits: 8 });
  const s16 = b.add({ kind: 'int', name: 's16', size: 2, signed: true, char: false, bool: false, bitOffset: 0, bits: 16 });
  const u32 = b.add({ kind: 'int', name: 'u32', size: 4, signed: false, char: false, bool: false, bitOffset: 0, bits: 32 });
  const color = b.add({ kind: 'enum', name: 'color', size: 4, signed: false, values: [{ name: 'RED', value: 1 }] });
  const arr = b.add({ kind: 'array', name: '', type: u8, indexType: u32, nelems: 3 });
  const inner = b.add({ kind: 'struct', name: 'inner', size: 4, kindFlag: false, members: [{ name: 'x', type: u32, bitOffset: 0, bitfieldSize: 0 }] });
  const outer = b.add({
    kind: 'struct',
    name: 'outer',
    size: 16,
    kindFlag: true,
    members: [
      { name: 'a', type: s16, bitOffset: 0, bitfieldSize: 0 },
      { name: 'lo', type: u8, bitOffset: 16, bitfieldSize: 3 },
      { name: 'hi', type: u8, bitOffset: 19, bitfieldSize: 5 },
      { name: 'c', type: color, bitOffset: 32, bitfieldSize: 0 },
      { name: 'arr', type: arr, bitOffset: 64, bitfieldSize: 0 },
      { name: 'in', type: inner, bitOffset: 96, bitfieldSize: 0 },
    ],
  });
  const btf = parseBtf(b.encode());
  const codec = btfCodec(btf, outer);
  const v = { a: -2, lo: 5, hi: 17, c: 1, arr: [1, 2, 3], in: { x: 0xdeadbeef } };
  const bytes = codec.encode(v);
  assert.deepEqual([...bytes], [0xfe, 0xff, 5 | (17 << 3), 0, 1, 0, 0, 0, 1, 2, 3, 0, 0xef, 0xbe, 0xad, 0xde]);
  assert.deepEqual(codec.decode(bytes), v);
});

kernelTest('typed() over a kernel map and a runtime map: the same calls, the same answers', (sys) => {
  const { btf, keyTypeId, valueTypeId } = statsMap('xdp_stats');
  const cpus = possibleCpus(sys);
  using kernel = new KernelMap(createKernelMap(sys, { type: BpfMapType.PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 5 }), 'stats');
  const runtime = new RuntimeMap(createMap({ name: 'stats', type: BpfMapType.PERCPU_ARRAY, keySize: 4, valueSize: 16, maxEntries: 5, flags: 0 }, { space: new AddressSpace(), cpus }), cpus);
  for (const raw of [kernel, runtime]) {
    const m = typed(raw, btfCodec<number>(btf, keyTypeId), btfCodec<DataRec>(btf, valueTypeId));
    m.setPerCpu(1, Array.from({ length: cpus }, (_, c) => ({ rx_packets: BigInt(c + 1), rx_bytes: 64n * BigInt(c + 1) })));
    m.set(3, { rx_packets: 7n, rx_bytes: 7n });
  }
  const dump = (raw: KernelMap | RuntimeMap) => [...typed(raw, btfCodec<number>(btf, keyTypeId), btfCodec<DataRec>(btf, valueTypeId)).entriesPerCpu()];
  assert.deepEqual(dump(runtime), dump(kernel));
  assert.equal(dump(kernel).length, 5);
});

test('autoCodec: BTF when it describes the type with the right size, raw bytes otherwise', () => {
  const { btf, valueTypeId } = statsMap('xdp_stats');
  const withBtf = autoCodec(btf, valueTypeId, 16);
  assert.deepEqual(withBtf.decode(new Uint8Array(16)), { rx_packets: 0n, rx_bytes: 0n });
  assert.deepEqual(autoCodec(btf, valueTypeId, 24).decode(new Uint8Array(24)), new Uint8Array(24), 'size mismatch: bytes');
  assert.deepEqual(autoCodec(undefined, undefined, 3).decode(new Uint8Array([1, 2, 3])), new Uint8Array([1, 2, 3]));
});
