// Load cells: hooked context fields the JIT reads inline from memory, equal to what the hook (and so the interpreter) returns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exit, ldx, ldxs, program, r0, r1, r2, r3, r4, r5, stx } from '../../src/isa/index.js';
import { JitEngine } from '../../src/jit/jit-engine.js';
import { createEngine } from '../../src/jit/create-engine.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import type { Engine } from '../../src/vm/engine.js';
import { builtinHelpers } from '../../src/vm/helpers.js';
import { Interpreter } from '../../src/vm/interpreter.js';
import { prepareProgram } from '../../src/vm/program.js';

const insns = program(
  ldx.w(r2, r1, 0), // a cell: a pointer into `data`
  ldx.w(r3, r1, 4), // no cell: the hook
  ldx.w(r4, r1, 8), // a cell: a plain number
  ldxs.w(r5, r1, 0), // sign-extending: always the hook
  ldx.dw(r0, r2, 0), // through the pointer the cell gave
  stx.dw(r2, 8, r3), stx.dw(r2, 16, r4), stx.dw(r2, 24, r5),
  ldx.w(r0, r1, 14), // crosses the 16-byte window: a fault
  exit(),
);

function setup(kind: 'jit' | 'interpreter'): { engine: Engine; calls: number[]; r1: number; data: () => Uint8Array } {
  const space = new AddressSpace();
  const data = space.addRegion('data', 32, { kind: 'other' });
  const ctx = space.addRegion('ctx', 16, { kind: 'ctx', writable: false });
  const calls: number[] = [];
  const ptr = data.address();
  const values: Record<number, [number, number]> = { 0: [ptr >>> 0, Math.floor(ptr / 4294967296)], 4: [7, 0], 8: [-5, 0] };
  space.setLoadHook(ctx, (offset, size, out) => {
    calls.push(offset);
    const v = values[offset];
    if (!v || size !== 4) return false;
    out[0] = v[0];
    out[1] = v[1];
    return true;
  });
  for (const off of [0, 8]) {
    const cell = space.loadCell(ctx, off);
    space.memory.view.setInt32(cell, values[off]![0], true);
    space.memory.view.setInt32(cell + 4, values[off]![1], true);
  }
  space.memory.bytes.set([1, 2, 3, 4, 5, 6, 7, 8], data.start);
  const prepared = prepareProgram(insns, { helpers: builtinHelpers() });
  const engine = kind === 'jit' ? new JitEngine(prepared, space) : new Interpreter(prepared, space);
  return { engine, calls, r1: ctx.address(), data: () => data.bytes().slice() };
}

test('load cells: the JIT serves cell fields inline (the hook is not called for them) and agrees with the interpreter', () => {
  const results = (['interpreter', 'jit'] as const).map((kind) => {
    const s = setup(kind);
    let error = '';
    try {
      s.engine.run(s.r1);
    } catch (e) {
      error = (e as Error).message;
    }
    return { error, data: Array.from(s.data()), calls: s.calls };
  });
  const [interp, jit] = results;
  assert.match(interp!.error, /pc 8: invalid read of 4 bytes .* crossing the end of "ctx" at offset 14/);
  assert.equal(jit!.error, interp!.error);
  assert.deepEqual(jit!.data, interp!.data);
  assert.deepEqual(interp!.calls, [0, 4, 8, 0]);
  assert.deepEqual(jit!.calls, [4, 0], 'only the field without a cell and the sign-extending load reach the hook');
});

test('the region table grows past its first 252 entries; a second address space in the same memory gets the interpreter', () => {
  const space = new AddressSpace();
  const prepared = prepareProgram(program(ldx.dw(r0, r1, 8), stx.dw(r1, 0, r0), exit()), { helpers: builtinHelpers() });
  const jit = new JitEngine(prepared, space);
  let last = space.addRegion('r0', 16);
  for (let i = 1; i < 400; i++) last = space.addRegion(`r${i}`, 16);
  space.memory.view.setInt32(last.start + 8, 12345, true);
  jit.run(last.address());
  assert.equal(jit.retLo, 12345);
  assert.equal(space.memory.view.getInt32(last.start, true), 12345);
  assert.throws(() => jit.run(last.address() + 9), /invalid read of 8 bytes .* past the end of "r399"/);
  const other = new AddressSpace(space.memory);
  const created = createEngine('jit', prepared, other);
  assert.equal(created.kind, 'interpreter');
  assert.match(created.fallback ?? '', /two address spaces with region tables in one memory/);
});
