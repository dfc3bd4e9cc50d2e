// Call blocks (the marshal-free hot path of map element ops and test runs) against the generic Sys.bpf path, bpftool and a fake Sys.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { alu64, encode, exit, jmp, label, ldx, program, r0, r1, r2, r3, r4, r5, stx } from '../../../src/isa/index.js';
import { MAP_ELEM_ATTR, TEST_RUN_ATTR } from '../../../src/kernel/bpf-attr.generated.js';
import { bpfCallBlock, CallBlockFreedError, CallBlockRangeError } from '../../../src/kernel/bpf/call-block.js';
import { BpfCmd, MapType, ProgType, UpdateFlags } from '../../../src/kernel/bpf/constants.js';
import { InvalidKeySizeError, InvalidValueSizeError } from '../../../src/kernel/bpf/input-errors.js';
import { createMap } from '../../../src/kernel/bpf/map-create.js';
import { deleteElem, keys, lookupAndDeleteElem, lookupElem, lookupElemInto, nextKey, updateElem } from '../../../src/kernel/bpf/map-elem.js';
import { MapFd, possibleCpus } from '../../../src/kernel/bpf/map-fd.js';
import { mapInfo } from '../../../src/kernel/bpf/obj-info.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { testRun, type TestRunOptions } from '../../../src/kernel/bpf/prog-test-run.js';
import { Errno } from '../../../src/kernel/errno.js';
import type { Fd } from '../../../src/kernel/fd.js';
import { FdClosedError } from '../../../src/kernel/fd.js';
import { isErrno, KernelError } from '../../../src/kernel/kernel-error.js';
import { KernelMap } from '../../../src/kernel/kernel-map.js';
import { createKernelSys } from '../../../src/kernel/koffi-sys.js';
import { StructReader, StructWriter } from '../../../src/kernel/struct-codec.js';
import type { Sys } from '../../../src/kernel/sys.js';
import { FakeSys, pointee, type FakeBpfCall } from '../fake-sys.js';
import { kernelTest, u32, u64 } from '../harness.js';

const hex = (b: Uint8Array): string[] => [...b].map((x) => `0x${x.toString(16).padStart(2, '0')}`);
const words = (b: Uint8Array): string[] => [...b].map(String);

/** The generic path, as map-elem.ts did it before call blocks: an attr built per call through Sys.bpf. */
function genericLookup(sys: Sys, map: MapFd, key: Uint8Array): Uint8Array | undefined {
  const value = new Uint8Array(map.syscallValueSize());
  const attr = new StructWriter(MAP_ELEM_ATTR).u32('map_fd', map.raw).ptr('key', key).ptr('value', value, 'out');
  try {
    sys.bpf(BpfCmd.MAP_LOOKUP_ELEM, attr.bytes, attr.pointers);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
  return value;
}

/** bpftool's answer for `key` in map `id`: the value (per CPU: one per CPU) or undefined when absent. */
function bpftoolLookup(id: number, key: Uint8Array): string[] | string[][] | undefined {
  let out: string;
  try {
    out = execFileSync('bpftool', ['map', 'lookup', 'id', String(id), 'key', ...words(key), '-j'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const text = String((err as { stdout?: unknown }).stdout ?? '') + String((err as { stderr?: unknown }).stderr ?? '');
    if (/not found|No such file|^null/im.test(text)) return undefined;
    throw err;
  }
  const parsed = JSON.parse(out) as { value?: string[]; values?: { cpu: number; value: string[] }[] };
  return parsed.values ? parsed.values.map((v) => v.value) : parsed.value;
}

kernelTest('hash map: block-path lookup/update/delete agree with the generic path and with bpftool', (sys) => {
  using map = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 64, name: 'kc_hash' });
  const id = mapInfo(map).id;
  for (let i = 0; i < 20; i++) updateElem(map, u32(i * 3), u64(BigInt(i) * 0x0101_0101_0101n));
  for (let i = 0; i < 60; i++) {
    const key = u32(i);
    const fast = lookupElem(map, key);
    assert.deepEqual(fast, genericLookup(sys, map, key), `key ${i}: block vs generic`);
    const tool = bpftoolLookup(id, key);
    assert.deepEqual(fast === undefined ? undefined : hex(fast), tool, `key ${i}: block vs bpftool`);
  }
  // lookupElemInto: the same answers into the caller's buffer, false (buffer untouched) when absent.
  const into = new Uint8Array(8).fill(0xee);
  assert.equal(lookupElemInto(map, u32(4), into), false);
  assert.deepEqual(into, new Uint8Array(8).fill(0xee));
  assert.equal(lookupElemInto(map, u32(3), into), true);
  assert.deepEqual(into, u64(0x0101_0101_0101n));
  assert.throws(() => lookupElemInto(map, u32(3), new Uint8Array(4)), InvalidValueSizeError);
  // Returned values are copies: the next lookup does not change them.
  const a = lookupElem(map, u32(3))!;
  const b = lookupElem(map, u32(6))!;
  assert.deepEqual(a, u64(0x0101_0101_0101n));
  assert.deepEqual(b, u64(0x0202_0202_0202n));
  // Update modes keep the kernel's errno.
  assert.throws(() => updateElem(map, u32(3), u64(1), UpdateFlags.NOEXIST), (e: unknown) => isErrno(e, 'EEXIST'));
  assert.throws(() => updateElem(map, u32(4), u64(1), UpdateFlags.EXIST), (e: unknown) => isErrno(e, 'ENOENT'));
  updateElem(map, u32(3), u64(99), UpdateFlags.EXIST);
  assert.deepEqual(bpftoolLookup(id, u32(3)), hex(u64(99)));
  // Flags go back to 0 after a call with flags (the block caches them).
  assert.deepEqual(lookupElem(map, u32(3)), u64(99));
  // Deletes: true, then false; bpftool no longer finds the key.
  assert.equal(deleteElem(map, u32(3)), true);
  assert.equal(deleteElem(map, u32(3)), false);
  assert.equal(bpftoolLookup(id, u32(3)), undefined);
  assert.equal(lookupElem(map, u32(3)), undefined);
  // Iteration through the block's next-key attrs sees exactly the 19 keys left.
  const seen = [...keys(map)].map((k) => new DataView(k.buffer).getUint32(0, true)).sort((x, y) => x - y);
  assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i * 3).filter((k) => k !== 3));
  assert.equal(nextKey(map, u32(1000)) !== undefined, true, 'a missing key restarts at the first key');
  assert.deepEqual(lookupAndDeleteElem(map, u32(6)), u64(0x0202_0202_0202n));
  assert.equal(lookupElem(map, u32(6)), undefined);
  // Wrong sizes are typed errors before any syscall.
  assert.throws(() => lookupElem(map, new Uint8Array(3)), InvalidKeySizeError);
  assert.throws(() => deleteElem(map, new Uint8Array(5)), InvalidKeySizeError);
  assert.throws(() => updateElem(map, u32(1), new Uint8Array(4)), InvalidValueSizeError);
  assert.throws(() => updateElem(map, u32(1), u64(1), -1), /flags/);
  // The block path is counted like any bpf call (CountingSys forwards bpfBlock).
  assert.ok(sys.count(BpfCmd.MAP_LOOKUP_ELEM) >= 60);
});

kernelTest('per-CPU hash: KernelMap.get/set/getPerCpu through the block agree with bpftool per CPU', (sys) => {
  using m = new KernelMap(createMap(sys, { type: MapType.PERCPU_HASH, keySize: 4, valueSize: 12, maxEntries: 8, name: 'kc_pch' }), 'kc_pch');
  const id = mapInfo(m.fd).id;
  const cpus = possibleCpus(sys);
  const perCpu = Array.from({ length: cpus }, (_, c) => new Uint8Array(12).map((_, i) => c * 16 + i + 1));
  m.setPerCpu(u32(1), perCpu);
  assert.deepEqual(bpftoolLookup(id, u32(1)), perCpu.map(hex));
  assert.deepEqual(m.getPerCpu(u32(1)), perCpu);
  assert.deepEqual(m.get(u32(1)), perCpu[0]);
  // set(): one value on every CPU, padding zeroed even after a lookup left other bytes in the block.
  const one = new Uint8Array(12).fill(0x5a);
  m.set(u32(2), one);
  assert.deepEqual(bpftoolLookup(id, u32(2)), Array.from({ length: cpus }, () => hex(one)));
  const raw = genericLookup(sys, m.fd, u32(2))!;
  for (let c = 0; c < cpus; c++) assert.deepEqual([...raw.subarray(c * 16 + 12, c * 16 + 16)], [0, 0, 0, 0], `padding of CPU ${c}`);
  assert.equal(m.get(u32(3)), undefined);
  // The same set() as a map's first element operation (the generic path, no block yet).
  using m2 = new KernelMap(createMap(sys, { type: MapType.PERCPU_HASH, keySize: 4, valueSize: 12, maxEntries: 8, name: 'kc_pch2' }), 'kc_pch2');
  m2.set(u32(2), one);
  assert.deepEqual(bpftoolLookup(mapInfo(m2.fd).id, u32(2)), Array.from({ length: cpus }, () => hex(one)));
  assert.deepEqual(genericLookup(sys, m2.fd, u32(2)), raw);
  assert.throws(() => m.set(u32(2), new Uint8Array(16)), InvalidValueSizeError);
  assert.throws(() => m.set(u32(9), one, 'exist'), (e: unknown) => isErrno(e, 'ENOENT'));
});

kernelTest('a closed map frees its block: later calls throw FdClosedError, the old block CallBlockFreedError', (sys) => {
  const map = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: 'kc_closed' });
  updateElem(map, u32(1), u32(0xbeef));
  assert.deepEqual(lookupElem(map, u32(1)), u32(0xbeef));
  const block = map.elemBlock()!; // made on the second element operation
  assert.deepEqual(lookupElem(map, u32(1)), u32(0xbeef));
  map.close();
  assert.equal(block.freed, true);
  assert.throws(() => block.lookup(BpfCmd.MAP_LOOKUP_ELEM, u32(1), 0), CallBlockFreedError);
  assert.throws(() => block.value(), CallBlockFreedError);
  assert.throws(() => lookupElem(map, u32(1)), FdClosedError);
  assert.throws(() => updateElem(map, u32(1), u32(1)), FdClosedError);
  assert.throws(() => deleteElem(map, u32(1)), FdClosedError);
  // release() hands the fd on and frees the block too.
  const other = createMap(sys, { type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, name: 'kc_rel' });
  lookupElem(other, u32(0));
  const otherBlock = other.elemBlock()!;
  const raw = other.release();
  assert.equal(otherBlock.freed, true);
  sys.close(raw);
});

kernelTest('the real Sys block: errors come back as -errno, a freed block throws, bad offsets are range errors', () => {
  const real = createKernelSys();
  const block = real.bpfBlock!(64);
  assert.equal(block.bytes.length, 64);
  assert.ok(block.bytes.every((b) => b === 0), 'zeroed');
  new DataView(block.bytes.buffer, block.bytes.byteOffset).setUint32(0, 0x7fff_fff0, true); // no such fd
  block.point(8, 32, 4);
  block.point(16, 40, 8);
  assert.equal(block.call(BpfCmd.MAP_LOOKUP_ELEM, 0, 32), -Errno.EBADF);
  assert.throws(() => block.point(60, 0, 4), CallBlockRangeError);
  assert.throws(() => block.point(0, 60, 8), CallBlockRangeError);
  assert.throws(() => block.call(BpfCmd.MAP_LOOKUP_ELEM, 40, 32), CallBlockRangeError);
  block.free();
  block.free();
  assert.equal(block.freed, true);
  assert.throws(() => block.bytes, CallBlockFreedError);
  assert.throws(() => block.call(BpfCmd.MAP_LOOKUP_ELEM, 0, 32), CallBlockFreedError);
  assert.throws(() => block.point(8, 32, 4), CallBlockFreedError);
});

/**
 * XDP: if the packet has 2 bytes, byte 1 = byte 0 + 1 and return 1 + (byte0 + 1) % 2 (DROP or
 * PASS); shorter packets PASS unchanged.
 */
const BUMP = encode(
  program(
    ldx.w(r2, r1, 0),
    ldx.w(r3, r1, 4),
    alu64.mov.reg(r4, r2),
    alu64.add.imm(r4, 2),
    jmp.jgt.reg(r4, r3, 'short'),
    ldx.b(r5, r2, 0),
    alu64.add.imm(r5, 1),
    stx.b(r2, 1, r5),
    alu64.mov.reg(r0, r5),
    alu64.and.imm(r0, 1),
    alu64.add.imm(r0, 1),
    exit(),
    label('short'),
    alu64.mov.imm(r0, 2),
    exit(),
  ),
);

/** The generic path, as prog-test-run.ts did it before call blocks (no ENOSPC retry). */
function genericRun(sys: Sys, prog: Fd<'prog'>, o: TestRunOptions) {
  const dataIn = o.dataIn ?? new Uint8Array(0);
  const dataOut = new Uint8Array(o.dataOutSize ?? dataIn.length + 4096);
  const ctxOut = new Uint8Array(o.ctxOutSize ?? 0);
  const attr = new StructWriter(TEST_RUN_ATTR)
    .u32('prog_fd', prog.raw)
    .u32('data_size_in', dataIn.length)
    .ptr('data_in', dataIn)
    .u32('data_size_out', dataOut.length)
    .ptr('data_out', dataOut, 'out')
    .u32('repeat', o.repeat ?? 1);
  if (o.ctxIn) attr.u32('ctx_size_in', o.ctxIn.length).ptr('ctx_in', o.ctxIn);
  if (ctxOut.length > 0) attr.u32('ctx_size_out', ctxOut.length).ptr('ctx_out', ctxOut, 'out');
  sys.bpf(BpfCmd.PROG_TEST_RUN, attr.bytes, attr.pointers);
  const read = new StructReader(TEST_RUN_ATTR, attr.bytes);
  return {
    retval: read.u32('retval'),
    dataOut: dataOut.slice(0, Math.min(read.u32('data_size_out'), dataOut.length)),
    ctxOut: ctxOut.length > 0 ? ctxOut.slice(0, Math.min(read.u32('ctx_size_out'), ctxOut.length)) : undefined,
  };
}

/** A `struct xdp_md` for a packet of `len` bytes (data 0, data_end len). */
function xdpMd(len: number): Uint8Array {
  const md = new Uint8Array(24);
  new DataView(md.buffer).setUint32(4, len, true);
  return md;
}

kernelTest('test run: the program block agrees with the generic path across changing shapes, ctx in/out and growth', (sys) => {
  using prog = loadProgram(sys, { type: ProgType.XDP, insns: BUMP, license: 'GPL', name: 'kc_bump' });
  const cases: TestRunOptions[] = [];
  for (const len of [64, 64, 14, 20, 64, 300, 1500, 64, 3000, 14]) {
    const dataIn = new Uint8Array(len).map((_, i) => (i * 31 + len) & 0xff);
    cases.push({ dataIn, dataOutSize: len + 64 });
    cases.push({ dataIn, dataOutSize: len + 64, ctxIn: xdpMd(len), ctxOutSize: 24 });
    cases.push({ dataIn, dataOutSize: len + 64, repeat: 5 });
  }
  for (const [i, o] of cases.entries()) {
    const fast = testRun(prog, o);
    const slow = genericRun(sys, prog, o);
    assert.equal(fast.retval, slow.retval, `case ${i}: retval`);
    assert.deepEqual(fast.dataOut, slow.dataOut, `case ${i}: data out`);
    assert.deepEqual(fast.ctxOut, slow.ctxOut, `case ${i}: ctx out`);
    if (o.dataIn!.length >= 2) {
      assert.equal(fast.dataOut[1], (o.dataIn![0]! + 1) & 0xff, `case ${i}: the program wrote byte 1`);
      assert.equal(fast.retval, 1 + ((o.dataIn![0]! + 1) & 1));
    }
  }
  // Data out too small: retried once with the kernel's size, through the grown block.
  const big = new Uint8Array(2000).fill(7); // linear (a fragmented packet cannot report the size it needs)
  const before = sys.count(BpfCmd.PROG_TEST_RUN);
  const run = testRun(prog, { dataIn: big, dataOutSize: 16 });
  assert.equal(sys.count(BpfCmd.PROG_TEST_RUN) - before, 2);
  assert.equal(run.dataOut.length, 2000);
  assert.equal(run.dataOut[1], 8);
  // Results are copies: a later run does not change an earlier result.
  const pkt = (b: number) => new Uint8Array(14).fill(b, 0, 1);
  const first = testRun(prog, { dataIn: pkt(1), dataOutSize: 14 });
  testRun(prog, { dataIn: pkt(9), dataOutSize: 14 });
  assert.deepEqual([...first.dataOut.subarray(0, 3)], [1, 2, 0]);
  // Below ETH_HLEN the kernel refuses the packet: a typed error, as on the generic path.
  assert.throws(() => testRun(prog, { dataIn: new Uint8Array(4) }), (e: unknown) => isErrno(e, 'EINVAL'));
  assert.throws(() => genericRun(sys, prog, { dataIn: new Uint8Array(4) }), (e: unknown) => isErrno(e, 'EINVAL'));
  // Kernel errors stay typed (a bad ctx: xdp_md.egress_ifindex must be 0 on input).
  const badMd = xdpMd(64);
  new DataView(badMd.buffer).setUint32(20, 1, true);
  assert.throws(() => testRun(prog, { dataIn: new Uint8Array(64), ctxIn: badMd }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EINVAL');
  assert.throws(() => genericRun(sys, prog, { dataIn: new Uint8Array(64), ctxIn: badMd }), (e: unknown) => isErrno(e, 'EINVAL'));
  assert.throws(() => testRun(prog, { dataIn: new Uint8Array(64), repeat: -1 }), /repeat/);
  prog.close();
  assert.throws(() => testRun(prog, { dataIn: new Uint8Array(64) }), FdClosedError);
});

test('fake Sys without bpfBlock: element ops, first (generic path) and later (emulated block), send the attrs the kernel expects', () => {
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ops: { name: string; script: (call: FakeBpfCall) => number; run: (map: MapFd) => void }[] = [
    {
      name: 'lookup',
      script: (call) => {
        assert.equal(call.cmd, BpfCmd.MAP_LOOKUP_ELEM);
        assert.equal(call.attr.length, 32);
        assert.equal(view(call.attrIn).getUint32(0, true), 42);
        assert.deepEqual(pointee(call, MAP_ELEM_ATTR, 'key'), u32(5));
        pointee(call, MAP_ELEM_ATTR, 'value')!.set(u64(77));
        return 0;
      },
      run: (map) => assert.deepEqual(lookupElem(map, u32(5)), u64(77)),
    },
    {
      name: 'lookup into a buffer',
      script: (call) => {
        assert.equal(call.cmd, BpfCmd.MAP_LOOKUP_ELEM);
        pointee(call, MAP_ELEM_ATTR, 'value')!.set(u64(78));
        return 0;
      },
      run: (map) => {
        const out = new Uint8Array(8);
        assert.equal(lookupElemInto(map, u32(5), out), true);
        assert.deepEqual(out, u64(78));
      },
    },
    {
      name: 'missing key',
      script: (call) => {
        throw new KernelError(`bpf(${call.cmd})`, Errno.ENOENT);
      },
      run: (map) => assert.equal(lookupElem(map, u32(6)), undefined),
    },
    {
      name: 'update with flags',
      script: (call) => {
        assert.equal(call.cmd, BpfCmd.MAP_UPDATE_ELEM);
        assert.deepEqual(pointee(call, MAP_ELEM_ATTR, 'value'), u64(3));
        assert.equal(view(call.attrIn).getUint32(24, true), UpdateFlags.NOEXIST);
        return 0;
      },
      run: (map) => updateElem(map, u32(1), u64(3), UpdateFlags.NOEXIST),
    },
    {
      name: 'delete (only map_fd and key: value and flags zero, no value pointer, as CHECK_ATTR wants)',
      script: (call) => {
        assert.equal(call.cmd, BpfCmd.MAP_DELETE_ELEM);
        assert.deepEqual([...call.attrIn.subarray(16)], new Array(16).fill(0));
        assert.deepEqual(call.pointers.map((p) => p.offset), [MAP_ELEM_ATTR.fields.key.offset]);
        return 0;
      },
      run: (map) => assert.equal(deleteElem(map, u32(1)), true),
    },
    {
      name: 'first key (no key pointer)',
      script: (call) => {
        assert.equal(call.cmd, BpfCmd.MAP_GET_NEXT_KEY);
        assert.deepEqual(call.pointers.map((p) => p.offset), [MAP_ELEM_ATTR.fields.next_key.offset]);
        pointee(call, MAP_ELEM_ATTR, 'next_key')!.set(u32(9));
        return 0;
      },
      run: (map) => assert.deepEqual(nextKey(map), u32(9)),
    },
    {
      name: 'next key',
      script: (call) => {
        assert.deepEqual(pointee(call, MAP_ELEM_ATTR, 'key'), u32(9));
        pointee(call, MAP_ELEM_ATTR, 'next_key')!.set(u32(10));
        return 0;
      },
      run: (map) => assert.deepEqual(nextKey(map, u32(9)), u32(10)),
    },
    {
      name: 'another errno',
      script: (call) => {
        throw new KernelError(`bpf(${call.cmd})`, Errno.E2BIG);
      },
      run: (map) => assert.throws(() => updateElem(map, u32(2), u64(1)), (e: unknown) => e instanceof KernelError && e.errnoName === 'E2BIG' && /MAP_UPDATE_ELEM/.test(e.message)),
    },
  ];
  for (const op of ops) {
    for (const warm of [false, true]) {
      const sys = new FakeSys();
      const map = new MapFd(sys, 42, { type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 });
      if (warm) {
        sys.failWith(Errno.ENOENT);
        lookupElem(map, u32(0));
      }
      sys.onBpf(op.script);
      op.run(map);
      assert.equal(sys.calls.length, warm ? 2 : 1, `${op.name}: one bpf call`);
      assert.equal(map.elemBlock() !== undefined, true);
      map.close();
      assert.throws(() => lookupElem(map, u32(5)), FdClosedError);
    }
  }
});

test('emulated block: range checks and use after free are typed errors', () => {
  const block = bpfCallBlock(new FakeSys(), 32);
  assert.throws(() => block.point(28, 0, 4), CallBlockRangeError);
  assert.throws(() => block.call(1, 8, 32), CallBlockRangeError);
  block.free();
  assert.throws(() => block.call(1, 0, 32), CallBlockFreedError);
  assert.throws(() => bpfCallBlock(new FakeSys(), 0), CallBlockRangeError);
});
