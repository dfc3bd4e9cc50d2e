// The entry functions of a compiled program: `run` (one whole run) and `repeat` (a test run's loop).

import { BPF_MAX_LOOPS, STACK_SIZE } from '../vm/interpreter.js';
import { S_DIRTY, S_LEFT, S_R10, S_REGS, S_STACK0 } from './layout.js';
import { ByteWriter, type FuncBody, I32, I64, Op, VOID } from './wasm-writer.js';

/**
 * `run(r1lo, r1hi, budget)`: a whole run from slot 0 — zeroes what the last run may have
 * dirtied (every frame up to S_DIRTY when a call, callback or tail call went deeper, else the
 * top `extent` bytes of frame 0: see stack-extent.ts), sets the budget, r1 = the context, r10 =
 * frame 0, the other registers zero; r0 ends in the scratch (r1..r5 of the last run are not kept).
 */
export function runFunction(extent: number, firstBpf: number, type: number): FuncBody {
  // params: r1lo (0), r1hi (1), budget (2); locals: scratch base (3), r0 (4)
  const e = new ByteWriter();
  runBody(e, extent, firstBpf, 3);
  return { type, locals: [I32, I64], code: e.finish() };
}

/**
 * `repeat(r1lo, r1hi, budget, n)`: `n` whole runs on the same context, as BPF_PROG_TEST_RUN's
 * repeat loop does in the kernel (one call from JavaScript for all of them). The run's code is
 * inlined in the loop (no call per run: V8 does not inline Wasm calls).
 */
export function repeatFunction(extent: number, firstBpf: number, type: number): FuncBody {
  // params: r1lo (0), r1hi (1), budget (2), n (3); locals: scratch base (4), r0 (5)
  const e = new ByteWriter();
  const op = (...c: number[]): void => void c.forEach((x) => e.byte(x));
  op(Op.block, VOID, Op.loop, VOID);
  op(Op.local_get, 3, Op.i32_eqz, Op.br_if, 1);
  runBody(e, extent, firstBpf, 4);
  op(Op.local_get, 3, Op.i32_const, 1, Op.i32_sub, Op.local_set, 3, Op.br, 0, Op.end, Op.end);
  return { type, locals: [I32, I64], code: e.finish() };
}

/** One run (see runFunction) with r1lo, r1hi, budget in locals 0..2 and local `sb` free for the scratch base. */
function runBody(e: ByteWriter, extent: number, firstBpf: number, sb: number): void {
  const op = (...c: number[]): void => void c.forEach((x) => e.byte(x));
  const get = (i: number): void => {
    op(Op.local_get);
    e.u32(i);
  };
  const memop = (o: number, offset: number): void => {
    op(o);
    e.u32(0).u32(offset);
  };
  const i32 = (v: number): void => {
    op(Op.i32_const);
    e.s32(v);
  };
  op(Op.global_get);
  e.u32(0);
  op(Op.local_set);
  e.u32(sb);
  get(sb);
  memop(Op.i32_load, S_DIRTY);
  i32(1);
  op(Op.i32_gt_s, Op.if, VOID);
  get(sb);
  memop(Op.i32_load, S_STACK0);
  i32(0);
  get(sb);
  memop(Op.i32_load, S_DIRTY);
  i32(STACK_SIZE);
  op(Op.i32_mul, 0xfc);
  e.u32(11).byte(0); // memory.fill
  if (extent > 0) {
    op(Op.else);
    if (extent <= 64) {
      for (let at = STACK_SIZE - extent; at < STACK_SIZE; at += 8) {
        get(sb);
        memop(Op.i32_load, S_STACK0);
        op(Op.i64_const, 0);
        memop(Op.i64_store, at);
      }
    } else {
      get(sb);
      memop(Op.i32_load, S_STACK0);
      i32(STACK_SIZE - extent);
      op(Op.i32_add);
      i32(0);
      i32(extent);
      op(0xfc);
      e.u32(11).byte(0); // memory.fill
    }
  }
  op(Op.end);
  get(sb);
  i32(1);
  memop(Op.i32_store, S_DIRTY);
  get(sb);
  get(2);
  memop(Op.i32_store, S_LEFT);
  op(Op.i64_const, 0); // r0
  get(1);
  op(Op.i64_extend_i32_u, Op.i64_const, 32, Op.i64_shl);
  get(0);
  op(Op.i64_extend_i32_u, Op.i64_or); // r1
  for (let r = 2; r <= 9; r++) op(Op.i64_const, 0);
  get(sb);
  memop(Op.i64_load, S_R10); // r10
  op(Op.i32_const, 0);
  op(Op.i32_const);
  e.s32(BPF_MAX_LOOPS);
  op(Op.call);
  e.u32(firstBpf);
  // r0..r5 come back; only r0 is kept: stored below the five dropped.
  for (let r = 5; r >= 1; r--) op(Op.drop);
  op(Op.local_set);
  e.u32(sb + 1);
  get(sb);
  get(sb + 1);
  memop(Op.i64_store, S_REGS);
}
