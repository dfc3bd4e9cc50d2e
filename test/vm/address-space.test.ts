// The address space: pointer layout, checked access, and MemoryFault naming the region and offset.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, exit, ld, ldx, program, r0, r1, r2, r10, st, stx } from '../../src/isa/index.js';
import { AddressSpace, createXdpVm, MemoryFault, run, TAG_BASE } from '../../src/vm/index.js';

/** Runs `insns` on a 16-byte packet and returns the MemoryFault it must raise. */
function fault(insns: ReturnType<typeof program>): MemoryFault {
  try {
    run(insns, undefined, new Uint8Array(16));
  } catch (err) {
    assert.ok(err instanceof MemoryFault, `expected a MemoryFault, got ${String(err)}`);
    assert.equal(err.code, 'ERR_MEMORY_FAULT');
    return err;
  }
  assert.fail('the program ran without faulting');
}

test('regions get distinct tags; translate accepts the window and rejects everything else', () => {
  const space = new AddressSpace();
  const a = space.addRegion('a', 16);
  const b = space.addRegion('b', 16, { writable: false });
  assert.equal(Math.floor(a.address() / 2 ** 32), TAG_BASE + a.id);
  assert.notEqual(Math.floor(a.address() / 2 ** 32), Math.floor(b.address() / 2 ** 32));
  assert.ok(space.translateNumber(a.address(0), 16, true) >= 0);
  assert.equal(space.translateNumber(a.address(1), 16, false), -1, 'crossing the end');
  assert.equal(space.translateNumber(a.address(-1), 1, false), -1, 'before the start');
  assert.equal(space.translateNumber(b.address(0), 4, true), -1, 'write to read-only');
  assert.ok(space.translateNumber(b.address(0), 4, false) >= 0);
  // a's memory offset with b's tag: the bytes exist, but not in b.
  assert.equal(space.translate(TAG_BASE + b.id, a.start, 1, false), -1);
  assert.equal(space.translateNumber(0, 1, false), -1, 'NULL');
});

test('stack overflow below r10 - 512 faults with the stack frame and offset', () => {
  const f = fault(program(st.dw(r10, -520, 1), alu64.mov.imm(r0, 0), exit()));
  assert.equal(f.pc, 0);
  assert.equal(f.access, 'write');
  assert.equal(f.size, 8);
  assert.equal(f.region, 'stack[0]');
  assert.equal(f.offset, -8);
  assert.equal(f.reason, 'out-of-bounds');
  assert.match(f.message, /pc 0: invalid write of 8 bytes at 0x[0-9a-f]+: 8 bytes before the start of "stack\[0\]"/);
});

test('a load at r10 (one past the frame) faults', () => {
  const f = fault(program(ldx.b(r0, r10, 0), exit()));
  assert.equal(f.region, 'stack[0]');
  assert.equal(f.offset, 512);
  assert.equal(f.access, 'read');
});

test('packet access past data_end faults with the packet region, without touching memory', () => {
  const f = fault(program(ldx.w(r2, r1, 0), alu64.mov.imm(r0, 0x41), stx.w(r2, 14, r0), exit()));
  assert.equal(f.pc, 2);
  assert.equal(f.region, 'packet');
  assert.equal(f.offset, 14);
  assert.match(f.message, /crossing the end of "packet" at offset 14 \(size 16\)/);
});

test('writes to the read-only context fault as read-only', () => {
  const f = fault(program(st.w(r1, 0, 1), exit()));
  assert.equal(f.region, 'ctx');
  assert.equal(f.reason, 'read-only');
});

test('a NULL or wild pointer faults as unmapped, naming the nearest region', () => {
  const f = fault(program(alu64.mov.imm(r1, 0), ldx.dw(r0, r1, 0), exit()));
  assert.equal(f.reason, 'unmapped');
  assert.equal(f.address, 0n);
  const g = fault(program(ld.imm64(r1, 0xffffffffffff0000n), ldx.dw(r0, r1, 0), exit()));
  assert.equal(g.address, 0xffffffffffff0000n);
  assert.equal(g.reason, 'unmapped');
});

test('a pointer walked off one stack frame into the next frame\'s bytes keeps its tag and faults', () => {
  const vm = createXdpVm(program(st.dw(r10, 0, 0x55), alu64.mov.imm(r0, 0), exit()));
  const [frame0, frame1] = vm.interpreter.stacks;
  // The frames are adjacent in memory: r10 of frame 0 is the first byte of frame 1's block.
  assert.equal(frame0!.end, frame1!.start);
  assert.throws(() => vm.run(undefined, new Uint8Array(16)), (err: unknown) => {
    assert.ok(err instanceof MemoryFault);
    assert.equal(err.region, 'stack[0]');
    assert.equal(err.offset, 512);
    return true;
  });
  assert.equal(frame1!.bytes()[0], 0, 'frame 1 untouched');
});
