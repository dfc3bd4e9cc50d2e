// The batch entry: a small WebAssembly module that runs a compiled XDP program over a table of frames in one call.
//
// `bpfkit run` puts a batch of frames in the address space's memory (the capture's bytes, copied
// there once per chunk) and a descriptor per frame: its memory offset, length and CPU. The
// driver loops in WebAssembly, as the test-run `repeat` loop does: for each descriptor it copies
// the frame into the XDP page at `data` (as the kernel's test run copies data_in into its page),
// points data_end's load cell and the packet region's table entry at its end, sets
// rx_queue_index and the CPU (per-CPU slots of inlined lookups), calls the program's `run`
// export — a direct Wasm-to-Wasm call, no JavaScript in between — and stores r0's low word in
// the descriptor. When the verdict is one whose frame is written out after the run (pass / tx
// sinks), the frame is copied back over its input bytes (a program that calls no helper cannot
// change the frame's length, so it fits). A run that traps (a fault, the budget) throws out of
// the loop; the index of the packet it ran is in the control block, so the caller records the
// fault and calls again from the next one.
//
// Only programs whose helper calls are all compiled in WebAssembly take this path (see
// `batchable`): a JavaScript helper reads per-run state (the CPU, the redirect target, the
// context's pointers) that only the JavaScript delivery sets.

import type { PreparedProgram } from '../vm/program.js';
import { F_HANDLER, HANDLERS, STRIDE } from '../vm/program.js';
import { REGION_ENTRY_SIZE, REGION_TABLE_HEADER } from '../vm/address-space.js';
import { IMPORT_MODULE, S_CPU, S_REGS } from './layout.js';
import { ByteWriter, encodeModule, I32, Op, VOID } from './wasm-writer.js';

/** Bytes per descriptor: frame offset, length, CPU, verdict (little-endian int32 each). */
export const BATCH_DESC_SIZE = 16;
/** Descriptor field offsets. */
export const BatchDesc = { offset: 0, length: 4, cpu: 8, verdict: 12 } as const;
/**
 * Control block (int32 each): the index of the packet being run, the longest frame copied, and
 * the copy-back mask — bit r set when a frame whose verdict is r (< 32) is copied back over its
 * input bytes after the run (the caller writes it out).
 */
export const BatchControl = { current: 0, longest: 4, copyBack: 8 } as const;
/** Bytes of the control block. */
export const BATCH_CONTROL_SIZE = 16;

/** Where the driver finds everything, as memory offsets (fixed for the driver's life). */
export interface BatchLayout {
  /** The descriptor table (BATCH_DESC_SIZE bytes per packet). */
  readonly descriptors: number;
  /** Where each frame is copied: the XDP page's `data`. */
  readonly data: number;
  /** Load cell of xdp_md.data_end (its low word is written). */
  readonly dataEndCell: number;
  /** Load cell of xdp_md.rx_queue_index (set to the packet's CPU = its receive queue). */
  readonly rxQueueCell: number;
  /** Region id of the packet region (its table entry's limits follow data_end). */
  readonly packetRegion: number;
  /** The engine's scratch area (r0 and the CPU cell). */
  readonly scratch: number;
  /** The control block (BATCH_CONTROL_SIZE bytes, see BatchControl). */
  readonly control: number;
}

/** `batch(from, to, r1lo, r1hi, budget)`: runs descriptors [from, to). */
export type BatchFn = (from: number, to: number, r1lo: number, r1hi: number, budget: number) => void;
/** A compiled program's `run(r1lo, r1hi, budget)` export. */
export type RunExport = (r1lo: number, r1hi: number, budget: number) => void;

interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

const HELPER_CALL = HANDLERS.indexOf('call_helper');
const REFUSED = new Set<number>((['ldxs_b', 'ldxs_h', 'ldxs_w', 'ldabs', 'ldind'] as const).map((h) => HANDLERS.indexOf(h)));

/**
 * Whether `program`, compiled with `inlinedCalls` of its helper calls in WebAssembly, can run in
 * the batch driver: every helper call compiled in Wasm (none reaches JavaScript but on a fault),
 * no sign-extending load (those of context fields are served by JavaScript) and no LD_ABS/LD_IND.
 */
export function batchable(program: PreparedProgram, inlinedCalls: number): boolean {
  let calls = 0;
  const code = program.code;
  for (let pc = 0; pc < program.slots; pc++) {
    const h = code[pc * STRIDE + F_HANDLER]!;
    if (h === HELPER_CALL) calls++;
    else if (REFUSED.has(h)) return false;
  }
  return calls === inlinedCalls;
}

/** Encodes the driver module for `layout` (constants baked in). */
export function batchDriverModule(layout: BatchLayout): Uint8Array {
  // params: from (0), to (1), r1lo (2), r1hi (3), budget (4); locals: d (5), len (6), end (7), entry (8), r (9), cpu (10)
  const e = new ByteWriter();
  const op = (...c: number[]): void => void c.forEach((x) => e.byte(x));
  const i32 = (v: number): void => {
    op(Op.i32_const);
    e.s32(v | 0);
  };
  const get = (i: number): void => op(Op.local_get, i);
  const set = (i: number): void => op(Op.local_set, i);
  const tee = (i: number): void => op(Op.local_tee, i);
  const mem = (o: number, offset: number): void => {
    op(o);
    e.u32(2).u32(offset);
  };
  const copy = (): void => op(0xfc, 10, 0, 0); // memory.copy
  const D = 5, LEN = 6, END = 7, ENT = 8, R = 9, CPU = 10;
  op(Op.block, VOID, Op.loop, VOID);
  get(0);
  get(1);
  op(Op.i32_ge_u, Op.br_if, 1);
  // d = descriptors + i * 16; control.current = i
  get(0);
  i32(4);
  op(Op.i32_shl);
  i32(layout.descriptors);
  op(Op.i32_add);
  set(D);
  i32(layout.control);
  get(0);
  mem(Op.i32_store, BatchControl.current);
  // The frame into the page at data.
  get(D);
  mem(Op.i32_load, BatchDesc.length);
  set(LEN);
  i32(layout.data);
  get(D);
  mem(Op.i32_load, BatchDesc.offset);
  get(LEN);
  copy();
  // data_end: its load cell and the packet region's read and write limits.
  i32(layout.dataEndCell);
  i32(layout.data);
  get(LEN);
  op(Op.i32_add);
  tee(END);
  mem(Op.i32_store, 0);
  i32(0);
  mem(Op.i32_load, REGION_TABLE_HEADER);
  i32(layout.packetRegion * REGION_ENTRY_SIZE);
  op(Op.i32_add);
  tee(ENT);
  get(END);
  mem(Op.i32_store, 4);
  get(ENT);
  get(END);
  mem(Op.i32_store, 8);
  // CPU = receive queue.
  get(D);
  mem(Op.i32_load, BatchDesc.cpu);
  set(CPU);
  i32(layout.rxQueueCell);
  get(CPU);
  mem(Op.i32_store, 0);
  i32(layout.scratch);
  get(CPU);
  mem(Op.i32_store, S_CPU);
  // control.longest = max(control.longest, len)
  i32(layout.control);
  get(LEN);
  i32(layout.control);
  mem(Op.i32_load, BatchControl.longest);
  get(LEN);
  i32(layout.control);
  mem(Op.i32_load, BatchControl.longest);
  op(Op.i32_gt_u, Op.select);
  mem(Op.i32_store, BatchControl.longest);
  // The run.
  get(2);
  get(3);
  get(4);
  op(Op.call, 0);
  get(D);
  i32(layout.scratch);
  mem(Op.i32_load, S_REGS);
  tee(R);
  mem(Op.i32_store, BatchDesc.verdict);
  {
    get(R);
    i32(32);
    op(Op.i32_lt_u, Op.if, VOID);
    i32(layout.control);
    mem(Op.i32_load, BatchControl.copyBack);
    get(R);
    op(Op.i32_shr_u);
    i32(1);
    op(Op.i32_and, Op.if, VOID);
    get(D);
    mem(Op.i32_load, BatchDesc.offset);
    i32(layout.data);
    get(LEN);
    copy();
    op(Op.end, Op.end);
  }
  get(0);
  i32(1);
  op(Op.i32_add);
  set(0);
  op(Op.br, 0, Op.end, Op.end);
  return encodeModule({
    types: [
      { params: [I32, I32, I32], results: [] },
      { params: [I32, I32, I32, I32, I32], results: [] },
    ],
    memory: { module: IMPORT_MODULE, name: 'memory', min: 1 },
    globals: [],
    imports: [{ module: IMPORT_MODULE, name: 'run', type: 0 }],
    functions: [{ type: 1, locals: [I32, I32, I32, I32, I32, I32], code: e.finish() }],
    exports: [{ name: 'batch', func: 1 }],
  });
}

/** Instantiates the driver over `memory` (the address space's WebAssembly.Memory) and the program's `run` export. */
export function createBatchDriver(memory: object, run: RunExport, layout: BatchLayout): BatchFn {
  const inst = new Wasm.Instance(new Wasm.Module(batchDriverModule(layout)), { [IMPORT_MODULE]: { memory, run } });
  return inst.exports['batch'] as BatchFn;
}
