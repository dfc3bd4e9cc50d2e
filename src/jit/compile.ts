// The eBPF -> WebAssembly compiler: one Wasm function per BPF function, registers as i64 locals, checked memory.
//
// Module shape. Imports: the address space's memory, the engine's scratch base (an i32 global),
// six functions (layout.ts). Functions: `enter` (exported: registers from the scratch, runs the
// function at slot 0, r0..r5 back to the scratch: a tail call's target), `step` (runs one block
// instruction by instruction until the budget runs out, then throws), `run` (exported: a whole
// run — stacks zeroed, registers set, slot 0 entered), then one function per BPF function
// (slot 0 and each call target) with signature (r0..r10: i64, depth, mayGoto: i32) -> (r0..r5).
//
// Control flow inside a function: its blocks in slot order, each the code after the `end` of a
// nested Wasm block, all inside one loop:
//
//   loop $L
//     block $Bn-1 ... block $B1 block $B0   <- br_table dispatch (entry, backward targets)
//     end $B0  code of block 0
//     end $B1  code of block 1 ...
//
// A forward jump from block i to block j > i is `br $Bj`; a backward jump sets `next` and
// branches to $L, whose dispatch enters the target. Every block starts by charging its length to
// the budget (`left`); when that goes negative the `step` function replays the block with a
// per-instruction check, so BudgetExceeded names the exact pc and `executed` stays exact.
//
// Memory: each access computes reg + off as i64, takes the tag (high word) as an index into the
// region table the address space keeps in memory, and checks start <= lo <= limit - size
// (unsigned); a failure (or a hooked region: limit = start) calls out to JS, which serves the hook
// or throws the interpreter's MemoryFault.

import { REGION_ENTRY_SIZE, REGION_TABLE_HEADER, TAG_BASE } from '../vm/address-space.js';
import { BPF_MAX_LOOPS, MAX_CALL_FRAMES } from '../vm/interpreter.js';
import { FIRST_CONST, type InlineMapLookup, type PreparedProgram, STRIDE } from '../vm/program.js';
import { hashLookupFunction, type Inlined, inlineLookups } from './map-lookup.js';
import { repeatFunction, runFunction } from './run-function.js';
import { frameExtent, frameSafe, stackBases } from './stack-extent.js';
import { type ValueBase, valueBases } from './value-bounds.js';
import { NotSupportedError } from '../errors.js';
import { analyze, type Block, type Cfg, endsBlock, Hd, isTailCall } from './cfg.js';
import {
  IMPORT_MODULE, IMPORT_NAMES, S_BLOCK, S_CPU, S_DIRTY, S_FLAG, S_HI, S_LEFT, S_R10, S_REGS, TRAP_BUDGET, TRAP_CALL_DEPTH, TRAP_FELL_OFF,
} from './layout.js';
import { ByteWriter, encodeModule, type FuncBody, type FuncType, I32, I64, Op, type ValType, VOID } from './wasm-writer.js';

// Function indexes.
const F_LOAD = 0, F_STORE_FAULT = 1, F_HELPER = 2, F_TAIL = 3, F_TRAP = 4, F_LDABS = 5, F_ENTER = 6, F_STEP = 7, F_RUN = 8, F_REPEAT = 9, F_FIRST_BPF = 10;
// Types.
const TYPES: FuncType[] = [
  { params: [I32, I32, I32, I32, I32], results: [I32] }, // 0 load
  { params: [I32, I32, I32, I32], results: [] }, // 1 storeFault
  { params: [I32, I32, I32], results: [I32] }, // 2 helper
  { params: [I32, I32, I32, I32], results: [I32] }, // 3 tail
  { params: [I32, I32], results: [] }, // 4 trap, enter
  { params: [I32, I32, I32], results: [I32] }, // 5 ldabs
  { params: [I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I32, I32], results: [I64, I64, I64, I64, I64, I64] }, // 6 bpf function
  { params: [I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I64, I32, I32], results: [] }, // 7 step
  { params: [I32, I32, I32], results: [] }, // 8 run
  { params: [I32, I32], results: [I64] }, // 9 hash map lookup
];
const T_BPF = 6, T_STEP = 7, T_ENTER = 4, T_RUN = 8, T_REPEAT = 1, T_HASH = 9;
const IMPORT_TYPES = [0, 1, 2, 3, 4, 5];

// Locals of BPF functions and `step`: 0..10 registers, then:
const DEPTH = 11;
const MG = 12; // step: instructions left before the budget runs out
const TB = 13, CAP = 14, LEFT = 15, NEXT = 16, A = 17, B = 18, C = 19, SB = 20, T0 = 21, T1 = 22, D = 23;
const EXTRA_LOCALS: ValType[] = [I32, I32, I32, I32, I32, I32, I32, I32, I64, I64, I32];

/** Options of compileProgram. */
export interface CompileOptions {
  /**
   * Every jump goes through the loop's br_table dispatch instead of branching forward directly
   * (the plain "loop + switch" shape; for measuring what the nested blocks buy).
   */
  dispatchAll?: boolean;
}

/** A compiled program: the Wasm module and what it was made of. */
export interface CompiledProgram {
  /** The module (instantiate once per engine: it imports the engine's memory and scratch). */
  readonly module: WasmModule;
  /** The Wasm binary. */
  readonly wasm: Uint8Array;
  /** Basic blocks (including the trap block). */
  readonly blocks: number;
  /** BPF functions compiled. */
  readonly functions: number;
  /** Callback entry slots (exported as `callback<slot>`). */
  readonly callbacks: readonly number[];
  /** Bytes of frame 0 a run zeroes when it did not go deeper (stack-extent.ts). */
  readonly frameExtent: number;
  /** bpf_map_lookup_elem calls compiled inline (known array maps). */
  readonly inlinedLookups: number;
  /** Loads, stores and atomics compiled without a bounds check: inside the stack frame or a map value (counted once per BPF function they are compiled in). */
  readonly uncheckedAccesses: number;
}

type Label = number | string;

/** Emits one function body with a label stack, so branches name their targets instead of depths. */
class Emitter {
  readonly w = new ByteWriter();
  private readonly labels: Label[] = [];
  constructor(
    private readonly p: PreparedProgram,
    private readonly cfg: Cfg,
    /** Whether this is `step` (per-instruction budget in MG). */
    private readonly stepping = false,
    /** Every jump through the loop's dispatch (CompileOptions.dispatchAll). */
    private readonly dispatchAll = false,
    /** Lookups to compile, by the pc of their bpf_map_lookup_elem call (hash maps: with the index of their function). */
    private readonly inline: ReadonlyMap<number, Inlined> = new Map(),
    /** Stack accesses by pc whose base is the frame pointer + k (stack-extent.ts's stackBases): no check when inside the frame. */
    private readonly bases: ReadonlyMap<number, number> = new Map(),
    /** Accesses by pc through a non-NULL value pointer of an inlined lookup (value-bounds.ts): no check when inside the value. */
    private readonly values: ReadonlyMap<number, ValueBase> = new Map(),
  ) {
    this.callbacks = cfg.callbacks.length > 0;
  }
  /** Whether the program has callbacks (see the helper call). */
  private readonly callbacks: boolean;
  /** Loads, stores and atomics emitted without a bounds check (stack-extent.ts, value-bounds.ts). */
  unchecked = 0;

  op(...codes: number[]): this {
    for (const c of codes) this.w.byte(c);
    return this;
  }
  get(i: number): this {
    return this.op(Op.local_get).u(i);
  }
  set(i: number): this {
    return this.op(Op.local_set).u(i);
  }
  tee(i: number): this {
    return this.op(Op.local_tee).u(i);
  }
  u(v: number): this {
    this.w.u32(v);
    return this;
  }
  i32(v: number): this {
    this.w.byte(Op.i32_const).s32(v);
    return this;
  }
  i64(lo: number, hi: number): this {
    this.w.byte(Op.i64_const).s64(lo, hi);
    return this;
  }
  mem(op: number, offset = 0): this {
    return this.op(op).u(0).u(offset);
  }
  call(f: number): this {
    return this.op(Op.call).u(f);
  }
  block(l: Label): this {
    this.labels.push(l);
    return this.op(Op.block, VOID);
  }
  loop(l: Label): this {
    this.labels.push(l);
    return this.op(Op.loop, VOID);
  }
  if_(): this {
    this.labels.push('if');
    return this.op(Op.if, VOID);
  }
  else_(): this {
    return this.op(Op.else);
  }
  end(): this {
    this.labels.pop();
    return this.op(Op.end);
  }
  depth(l: Label): number {
    const i = this.labels.lastIndexOf(l);
    if (i < 0) throw new Error(`JIT: no label ${String(l)}`);
    return this.labels.length - 1 - i;
  }
  br(l: Label): this {
    return this.op(Op.br).u(this.depth(l));
  }
  brIf(l: Label): this {
    return this.op(Op.br_if).u(this.depth(l));
  }

  // ---- operands ----
  private isConst(s: number): boolean {
    return s >= FIRST_CONST;
  }
  private constLo(s: number): number {
    return this.p.constLo[s - FIRST_CONST]!;
  }
  private constHi(s: number): number {
    return this.p.constHi[s - FIRST_CONST]!;
  }
  src64(s: number): this {
    return this.isConst(s) ? this.i64(this.constLo(s), this.constHi(s)) : this.get(s);
  }
  src32(s: number): this {
    return this.isConst(s) ? this.i32(this.constLo(s)) : this.get(s).op(Op.i32_wrap_i64);
  }
  dst32(d: number): this {
    return this.get(d).op(Op.i32_wrap_i64);
  }
  setZext(d: number): this {
    return this.op(Op.i64_extend_i32_u).set(d);
  }
  /** Pushes whether operand `s` is zero. */
  isZero64(s: number): this {
    return this.isConst(s) ? this.i32((this.constLo(s) | this.constHi(s)) === 0 ? 1 : 0) : this.get(s).op(Op.i64_eqz);
  }
  isMinusOne64(s: number): this {
    return this.isConst(s) ? this.i32((this.constLo(s) & this.constHi(s)) === -1 ? 1 : 0) : this.get(s).i64(-1, -1).op(Op.i64_eq);
  }

  prologue(): void {
    this.op(Op.global_get).u(0).set(SB);
    this.reloadTables();
    this.get(SB).mem(Op.i32_load, S_LEFT).set(LEFT);
  }
  reloadTables(): void {
    this.i32(0).mem(Op.i32_load, REGION_TABLE_HEADER).set(TB);
    this.i32(0).mem(Op.i32_load, REGION_TABLE_HEADER + 4).set(CAP);
  }
  storeLeft(): this {
    return this.get(SB).get(LEFT).mem(Op.i32_store, S_LEFT);
  }
  /** Stores r`from`..r`to` to the scratch. */
  storeRegs(from: number, to: number): this {
    for (let r = from; r <= to; r++) this.get(SB).get(r).mem(Op.i64_store, S_REGS + r * 8);
    return this;
  }
  /** Pushes the value an import returned (low word on the stack, high word in S_HI) as i64. */
  widenReturn(): this {
    return this.op(Op.i64_extend_i32_u).get(SB).mem(Op.i64_load32_u, S_HI).i64(32, 0).op(Op.i64_shl, Op.i64_or);
  }
  /** `return r0..r5` (after storing the budget left). */
  ret(): this {
    this.storeLeft();
    for (let r = 0; r <= 5; r++) this.get(r);
    return this.op(Op.return);
  }
  trap(kind: number, pc: number): this {
    if (kind !== TRAP_BUDGET) this.storeLeft();
    return this.i32(kind).i32(pc).call(F_TRAP).op(Op.unreachable);
  }

  /**
   * Checks an access of `size` bytes at reg + off; leaves the memory offset in A and, on
   * failure (or a hooked region for loads), runs `slow` with the address in T0. After this, the
   * fast path code follows, then `endAccess()`.
   */
  beginAccess(pc: number, reg: number, off: number, size: number, write: boolean, slow: () => void): void {
    if (this.inFrame(pc, off, size) || this.inValue(pc, off, size, write)) {
      // Inside the engine's own stack frame (r10's region, always mapped and writable) or
      // inside a map value the verifier's reasoning puts it in.
      if (!this.stepping) this.unchecked++;
      this.frameAddress(reg, off);
      this.pendingSlow = undefined;
      return;
    }
    this.block('done').block('slow');
    this.check(reg, off, size, write, 'slow');
    this.pendingSlow = slow;
  }
  /** Whether the access at `pc` (base + off, `size` bytes) is known to lie inside the stack frame. */
  private inFrame(pc: number, off: number, size: number): boolean {
    const k = this.bases.get(pc);
    return k !== undefined && frameSafe(k + off, size);
  }
  /** Whether the access at `pc` goes through a non-NULL map value pointer and stays inside the value (stores: a writable one). */
  private inValue(pc: number, off: number, size: number, write: boolean): boolean {
    const v = this.values.get(pc);
    return v !== undefined && v.k + off >= 0 && v.k + off + size <= v.size && (!write || v.writable);
  }
  /** A = the memory offset of reg + off (no check). */
  private frameAddress(reg: number, off: number): void {
    this.get(reg).op(Op.i32_wrap_i64);
    if (off !== 0) this.i32(off).op(Op.i32_add);
    this.set(A);
  }
  /** The inline access check of beginAccess: A = the memory offset; branches to `fail` when it fails. */
  check(reg: number, off: number, size: number, write: boolean, fail: Label): void {
    this.get(reg);
    if (off !== 0) this.i64(off, off >> 31).op(Op.i64_add);
    this.tee(T0).op(Op.i32_wrap_i64).set(A);
    this.get(T0).i64(32, 0).op(Op.i64_shr_u, Op.i32_wrap_i64).i32(TAG_BASE).op(Op.i32_sub).tee(B);
    this.get(CAP).op(Op.i32_ge_u).brIf(fail);
    this.get(TB).get(B).i32(Math.log2(REGION_ENTRY_SIZE)).op(Op.i32_shl, Op.i32_add).tee(C);
    this.mem(Op.i32_load, 0).get(A).op(Op.i32_gt_u).brIf(fail);
    this.get(A).get(C).mem(Op.i32_load, write ? 8 : 4).i32(size).op(Op.i32_sub, Op.i32_gt_u).brIf(fail);
  }

  /**
   * bpf_map_lookup_elem on a known array map, inlined as the kernel's map_gen_lookup: the key
   * read with the inline check, r0 = index < max_entries ? value pointer : NULL. A key the check
   * rejects goes to the helper itself (which faults as before).
   */
  inlineLookup(pc: number, aux: number, inl: Inlined): void {
    const m = inl.map;
    this.block('mdone').block('mslow');
    if (m.kind === 'array') {
      if (this.inFrame(pc, 0, 4)) this.frameAddress(2, 0);
      else this.check(2, 0, 4, false, 'mslow');
      this.get(A).mem(Op.i32_load, 0).tee(B).i32(m.maxEntries | 0).op(Op.i32_ge_u).if_().i64(0, 0).set(0).else_();
      this.i64(m.dataOffset, m.tag).get(B).op(Op.i64_extend_i32_u).i64(m.indexStride | 0, 0).op(Op.i64_mul, Op.i64_add);
      if (m.cpuStride !== 0) this.get(SB).mem(Op.i32_load, S_CPU).op(Op.i64_extend_i32_u).i64(m.cpuStride | 0, 0).op(Op.i64_mul, Op.i64_add);
      this.set(0).end();
    } else if (this.inFrame(pc, 0, m.keySize)) {
      // The key on the stack: no check.
      this.frameAddress(2, 0);
      this.get(A).get(SB).mem(Op.i32_load, S_CPU).call(inl.func).set(0);
    } else {
      // The key's key_size bytes checked as one read, then the map's lookup function.
      this.check(2, 0, m.keySize, false, 'mslow');
      this.get(A).get(SB).mem(Op.i32_load, S_CPU).call(inl.func).set(0);
    }
    this.br('mdone').end(); // mslow
    this.storeRegs(1, 5);
    this.i32(pc).i32(aux).get(DEPTH).call(F_HELPER).widenReturn().set(0);
    this.reloadTables();
    this.end(); // mdone
  }
  private pendingSlow: (() => void) | undefined;
  endAccess(): void {
    if (!this.pendingSlow) return;
    this.br('done').end(); // 'slow'
    this.pendingSlow!();
    this.end(); // 'done'
  }
  hiOfT0(): this {
    return this.get(T0).i64(32, 0).op(Op.i64_shr_u, Op.i32_wrap_i64);
  }
  load(pc: number, d: number, reg: number, off: number, size: number, signed: boolean): void {
    this.beginAccess(pc, reg, off, size, false, () => {
      if (size === 4 && !signed) {
        // A hooked field its region keeps in a load cell (AddressSpace.loadCell): no call out.
        // Inline: B = region id, A = the offset; the entry's directory (entry + 12), the field's
        // offset in the window (4-aligned, below the directory's count), its cell (0 = none).
        this.block('js').get(B).get(CAP).op(Op.i32_ge_u).brIf('js');
        this.get(TB).get(B).i32(Math.log2(REGION_ENTRY_SIZE)).op(Op.i32_shl, Op.i32_add).tee(C).mem(Op.i32_load, 12).tee(D).op(Op.i32_eqz).brIf('js');
        this.get(A).get(C).mem(Op.i32_load, 0).op(Op.i32_sub).tee(C).i32(3).op(Op.i32_and).brIf('js');
        this.get(C).i32(2).op(Op.i32_shr_u).get(D).mem(Op.i32_load, 0).op(Op.i32_ge_u).brIf('js');
        this.get(D).get(C).op(Op.i32_add).mem(Op.i32_load, 4).tee(C).op(Op.i32_eqz).brIf('js');
        this.get(C).mem(Op.i64_load, 0).set(d).br('done').end();
      }
      this.i32(pc).hiOfT0().get(A).i32(size).i32(signed ? 1 : 0).call(F_LOAD).widenReturn().set(d);
    });
    this.get(A);
    const ops = signed ? [0, Op.i64_load8_s, Op.i64_load16_s, 0, Op.i64_load32_s] : [0, Op.i64_load8_u, Op.i64_load16_u, 0, Op.i64_load32_u];
    this.mem(size === 8 ? Op.i64_load : ops[size]!, 0).set(d);
    this.endAccess();
  }
  storeFault(pc: number, size: number): () => void {
    return () => {
      this.i32(pc).hiOfT0().get(A).i32(size).call(F_STORE_FAULT).op(Op.unreachable);
    };
  }
  store(pc: number, reg: number, off: number, size: number, value: () => void): void {
    this.beginAccess(pc, reg, off, size, true, this.storeFault(pc, size));
    this.get(A);
    value();
    this.mem(size === 1 ? Op.i64_store8 : size === 2 ? Op.i64_store16 : size === 4 ? Op.i64_store32 : Op.i64_store, 0);
    this.endAccess();
  }

  /** Emits a jump to block `target` from block `from` (forward: br; backward: dispatch). */
  jump(from: Block, target: number, dispatch: Map<number, number>): void {
    const t = this.cfg.blockAt[target]!;
    if (t > from.index && !this.dispatchAll) this.br(t);
    else {
      this.i32(dispatch.get(t)!).set(NEXT).br('L');
    }
  }
  /** Emits a conditional jump: the condition is on the stack. */
  jumpIf(from: Block, target: number, dispatch: Map<number, number>): void {
    const t = this.cfg.blockAt[target]!;
    if (t > from.index && !this.dispatchAll) this.brIf(t);
    else {
      this.if_();
      this.jump(from, target, dispatch);
      this.end();
    }
  }

  /** A non-terminating instruction (ALU, load, store, atomic, lddw, helper call). */
  insn(pc: number): void {
    const code = this.p.code;
    const b = pc * STRIDE;
    const h = code[b]!;
    const d = code[b + 1]!;
    const s = code[b + 2]!;
    const off = code[b + 3]!;
    const imm = code[b + 4]!;
    const aux = code[b + 5]!;
    const bin64 = (o: number): void => void this.get(d).src64(s).op(o).set(d);
    const bin32 = (o: number): void => void this.dst32(d).src32(s).op(o).setZext(d);
    switch (h) {
      case 0: return bin64(Op.i64_add);
      case 1: return bin64(Op.i64_sub);
      case 2: return bin64(Op.i64_mul);
      case 3: // div64: x / 0 = 0
        this.isZero64(s).if_().i64(0, 0).set(d).else_().get(d).src64(s).op(Op.i64_div_u).set(d).end();
        return;
      case 4: // sdiv64: x / 0 = 0, x / -1 = -x (Wasm traps on INT_MIN / -1)
        this.isZero64(s).if_().i64(0, 0).set(d).else_();
        this.isMinusOne64(s).if_().i64(0, 0).get(d).op(Op.i64_sub).set(d).else_().get(d).src64(s).op(Op.i64_div_s).set(d).end();
        this.end();
        return;
      case 5: return bin64(Op.i64_or);
      case 6: return bin64(Op.i64_and);
      case 7: return bin64(Op.i64_shl);
      case 8: return bin64(Op.i64_shr_u);
      case 9: // mod64: x % 0 = x
        this.isZero64(s).op(Op.i32_eqz).if_().get(d).src64(s).op(Op.i64_rem_u).set(d).end();
        return;
      case 10: // smod64 (rem_s of INT_MIN by -1 is 0 in Wasm, no trap)
        this.isZero64(s).op(Op.i32_eqz).if_().get(d).src64(s).op(Op.i64_rem_s).set(d).end();
        return;
      case 11: return bin64(Op.i64_xor);
      case 12: this.src64(s).set(d); return;
      case 13: return bin64(Op.i64_shr_s);
      case 14: this.i64(0, 0).get(d).op(Op.i64_sub).set(d); return;
      case 15: this.get(s).op(Op.i64_extend8_s).set(d); return;
      case 16: this.get(s).op(Op.i64_extend16_s).set(d); return;
      case 17: this.get(s).op(Op.i64_extend32_s).set(d); return;
      case 18: return bin32(Op.i32_add);
      case 19: return bin32(Op.i32_sub);
      case 20: return bin32(Op.i32_mul);
      case 21: // div32
        this.src32(s).op(Op.i32_eqz).if_().i64(0, 0).set(d).else_().dst32(d).src32(s).op(Op.i32_div_u).setZext(d).end();
        return;
      case 22: // sdiv32: INT_MIN / -1 = INT_MIN
        this.src32(s).op(Op.i32_eqz).if_().i64(0, 0).set(d).else_();
        this.src32(s).i32(-1).op(Op.i32_eq).if_().i32(0).dst32(d).op(Op.i32_sub).setZext(d).else_().dst32(d).src32(s).op(Op.i32_div_s).setZext(d).end();
        this.end();
        return;
      case 23: return bin32(Op.i32_or);
      case 24: return bin32(Op.i32_and);
      case 25: return bin32(Op.i32_shl);
      case 26: return bin32(Op.i32_shr_u);
      case 27: // mod32: x % 0 = x, zero-extended
        this.src32(s).op(Op.i32_eqz).if_().dst32(d).setZext(d).else_().dst32(d).src32(s).op(Op.i32_rem_u).setZext(d).end();
        return;
      case 28: // smod32
        this.src32(s).op(Op.i32_eqz).if_().dst32(d).setZext(d).else_().dst32(d).src32(s).op(Op.i32_rem_s).setZext(d).end();
        return;
      case 29: return bin32(Op.i32_xor);
      case 30: this.src32(s).setZext(d); return;
      case 31: return bin32(Op.i32_shr_s);
      case 32: this.i32(0).dst32(d).op(Op.i32_sub).setZext(d); return;
      case 33: this.src32(s).op(Op.i32_extend8_s).setZext(d); return;
      case 34: this.src32(s).op(Op.i32_extend16_s).setZext(d); return;
      case 35: this.get(d).i64(0xffff, 0).op(Op.i64_and).set(d); return;
      case 36: this.get(d).i64(-1, 0).op(Op.i64_and).set(d); return;
      case 37: return;
      case 38:
      case 41: // bswap16
        this.dst32(d).i32(0xff).op(Op.i32_and).i32(8).op(Op.i32_shl);
        this.dst32(d).i32(8).op(Op.i32_shr_u).i32(0xff).op(Op.i32_and, Op.i32_or).setZext(d);
        return;
      case 39:
      case 42: // bswap32: rotl 8 keeps bytes 0 and 2, rotr 8 bytes 1 and 3
        this.dst32(d).i32(8).op(Op.i32_rotl).i32(0x00ff00ff).op(Op.i32_and);
        this.dst32(d).i32(8).op(Op.i32_rotr).i32(0xff00ff00 | 0).op(Op.i32_and, Op.i32_or).setZext(d);
        return;
      case 40:
      case 43: // bswap64: four rotations, each placing two bytes
        this.get(d).i64(8, 0).op(Op.i64_rotl).i64(0x000000ff, 0x000000ff).op(Op.i64_and);
        this.get(d).i64(24, 0).op(Op.i64_rotl).i64(0x0000ff00, 0x0000ff00).op(Op.i64_and, Op.i64_or);
        this.get(d).i64(24, 0).op(Op.i64_rotr).i64(0x00ff0000, 0x00ff0000).op(Op.i64_and, Op.i64_or);
        this.get(d).i64(8, 0).op(Op.i64_rotr).i64(0xff000000 | 0, 0xff000000 | 0).op(Op.i64_and, Op.i64_or).set(d);
        return;
      case Hd.callHelper:
        if (this.callbacks) {
          // A helper may run a callback (bpf_loop): it sees every register, shares the budget,
          // and leaves r1..r5 as the last callback did, as in the interpreter.
          this.storeRegs(0, 10);
          // In `step` the budget left is MG, not yet charged for this call.
          if (this.stepping) this.get(SB).get(MG).i32(1).op(Op.i32_sub).mem(Op.i32_store, S_LEFT);
          else this.storeLeft();
          this.i32(pc).i32(aux).get(DEPTH).call(F_HELPER).widenReturn().set(0);
          for (let r = 1; r <= 5; r++) this.get(SB).mem(Op.i64_load, S_REGS + r * 8).set(r);
          if (this.stepping) this.get(SB).mem(Op.i32_load, S_LEFT).i32(1).op(Op.i32_add).set(MG);
          else this.get(SB).mem(Op.i32_load, S_LEFT).set(LEFT);
        } else {
          const m = this.inline.get(pc);
          if (m) return this.inlineLookup(pc, aux, m);
          this.storeRegs(1, 5);
          this.i32(pc).i32(aux).get(DEPTH).call(F_HELPER).widenReturn().set(0);
        }
        this.reloadTables();
        return;
      case Hd.lddw:
        this.i64(imm, aux).set(d);
        return;
      case 75: return this.load(pc, d, s, off, 1, false);
      case 76: return this.load(pc, d, s, off, 2, false);
      case 77: return this.load(pc, d, s, off, 4, false);
      case 78: return this.load(pc, d, s, off, 8, false);
      case 79: return this.load(pc, d, s, off, 1, true);
      case 80: return this.load(pc, d, s, off, 2, true);
      case 81: return this.load(pc, d, s, off, 4, true);
      case 82: return this.store(pc, d, off, 1, () => this.i64(imm, imm >> 31));
      case 83: return this.store(pc, d, off, 2, () => this.i64(imm, imm >> 31));
      case 84: return this.store(pc, d, off, 4, () => this.i64(imm, imm >> 31));
      case 85: return this.store(pc, d, off, 8, () => this.i64(imm, imm >> 31));
      case 86: return this.store(pc, d, off, 1, () => this.get(s));
      case 87: return this.store(pc, d, off, 2, () => this.get(s));
      case 88: return this.store(pc, d, off, 4, () => this.get(s));
      case 89: return this.store(pc, d, off, 8, () => this.get(s));
      case 90: return this.atomic(pc, d, s, off, 4, aux);
      case 91: return this.atomic(pc, d, s, off, 8, aux);
      case 92: return this.load(pc, d, s, off, aux, false);
      case 93: return this.store(pc, d, off, aux, () => this.get(s));
      default:
        throw new NotSupportedError(`JIT compilation of handler ${h}`, undefined, `pc ${pc}`);
    }
  }

  /** Atomic read-modify-write (single-threaded: plain load, op, store). The old value is in T1 (zero-extended for 32-bit). */
  private atomic(pc: number, d: number, s: number, off: number, size: 4 | 8, op: number): void {
    const kind = op & 0xf0;
    if (![0x00, 0x40, 0x50, 0xa0, 0xe0, 0xf0].includes(kind)) throw new NotSupportedError(`JIT compilation of atomic op 0x${op.toString(16)}`, undefined, `pc ${pc}`);
    const w = size === 8;
    this.beginAccess(pc, d, off, size, true, this.storeFault(pc, size));
    this.get(A).mem(w ? Op.i64_load : Op.i64_load32_u, 0).set(T1);
    const value = (): void => {
      this.get(s);
      if (!w) this.i64(-1, 0).op(Op.i64_and);
    };
    const storeOld = (o: number): void => {
      this.get(A).get(T1);
      value();
      this.op(o).mem(w ? Op.i64_store : Op.i64_store32, 0);
    };
    switch (kind) {
      case 0x00: storeOld(Op.i64_add); break;
      case 0x40: storeOld(Op.i64_or); break;
      case 0x50: storeOld(Op.i64_and); break;
      case 0xa0: storeOld(Op.i64_xor); break;
      case 0xe0:
        this.get(A);
        value();
        this.mem(w ? Op.i64_store : Op.i64_store32, 0);
        break;
      case 0xf0: // cmpxchg: store when old == r0 (its low word for 32-bit); r0 = old
        this.get(T1).get(0);
        if (!w) this.i64(-1, 0).op(Op.i64_and);
        this.op(Op.i64_eq).if_().get(A);
        value();
        this.mem(w ? Op.i64_store : Op.i64_store32, 0).end();
        this.get(T1).set(0);
        break;
    }
    if ((op & 1) !== 0 && op !== 0xf1) this.get(T1).set(s);
    this.endAccess();
  }

  /** Charges `block`'s length to the budget; when it runs out, `step` replays the block and throws. */
  budget(block: Block): void {
    const len = block.pcs.length;
    this.get(LEFT).i32(len).op(Op.i32_sub).tee(LEFT).i32(0).op(Op.i32_lt_s).if_();
    for (let r = 0; r <= 10; r++) this.get(r);
    this.get(SB).i32(block.index).mem(Op.i32_store, S_BLOCK);
    this.get(DEPTH).get(LEFT).i32(len).op(Op.i32_add).call(F_STEP).op(Op.unreachable);
    this.end();
  }

  /** The code of one block inside a BPF function. */
  blockCode(block: Block, dispatch: Map<number, number>, funcIndex: ReadonlyMap<number, number>): void {
    const p = this.p;
    this.budget(block);
    if (block.start === p.slots) {
      this.trap(TRAP_FELL_OFF, block.start);
      return;
    }
    const last = block.pcs.length - 1;
    for (let i = 0; i < last; i++) this.insn(block.pcs[i]!);
    const pc = block.pcs[last]!;
    const b = pc * STRIDE;
    const h = p.code[b]!;
    const d = p.code[b + 1]!;
    const s = p.code[b + 2]!;
    if (h === Hd.ja || h === Hd.gotol) return this.jump(block, p.code[b + 6]!, dispatch);
    if ((h >= Hd.jeqFirst && h <= Hd.jLast) || (h >= Hd.j32First && h <= Hd.j32Last)) {
      this.condition(h, d, s);
      return this.jumpIf(block, p.code[b + 6]!, dispatch);
    }
    switch (h) {
      case Hd.mayGoto:
        this.get(MG).op(Op.i32_eqz);
        this.jumpIf(block, p.code[b + 6]!, dispatch);
        this.get(MG).i32(1).op(Op.i32_sub).set(MG);
        return;
      case Hd.exit:
        this.ret();
        return;
      case Hd.callFunc: {
        this.get(DEPTH).i32(MAX_CALL_FRAMES - 1).op(Op.i32_ge_s).if_().trap(TRAP_CALL_DEPTH, pc).end();
        this.get(DEPTH).i32(2).op(Op.i32_add).tee(A).get(SB).mem(Op.i32_load, S_DIRTY).op(Op.i32_gt_s).if_().get(SB).get(A).mem(Op.i32_store, S_DIRTY).end();
        this.storeLeft();
        for (let r = 0; r <= 9; r++) this.get(r);
        this.get(SB).get(DEPTH).i32(3).op(Op.i32_shl, Op.i32_add).mem(Op.i64_load, S_R10 + 8);
        this.get(DEPTH).i32(1).op(Op.i32_add).i32(BPF_MAX_LOOPS);
        this.call(F_FIRST_BPF + funcIndex.get(p.code[b + 6]!)!);
        for (let r = 5; r >= 0; r--) this.set(r);
        this.get(SB).mem(Op.i32_load, S_LEFT).set(LEFT);
        this.reloadTables();
        return;
      }
      case Hd.ldabs:
      case Hd.ldind: {
        const size = p.code[b + 5]!;
        this.i32(pc);
        if (h === Hd.ldabs) this.i32(p.code[b + 4]!);
        else this.src32(s).i32(p.code[b + 4]!).op(Op.i32_add);
        this.i32(size).call(F_LDABS).set(A);
        this.get(SB).mem(Op.i32_load, S_FLAG).op(Op.i32_eqz).if_().i64(0, 0).set(0).ret().end();
        this.get(A).setZext(0);
        return;
      }
      case Hd.callHelper:
        if (isTailCall(p, pc)) {
          this.storeRegs(0, 10);
          this.storeLeft();
          this.i32(pc).i32(p.code[b + 5]!).get(DEPTH).get(MG).call(F_TAIL).if_();
          for (let r = 0; r <= 5; r++) this.get(SB).mem(Op.i64_load, S_REGS + r * 8);
          this.op(Op.return).end();
          this.get(SB).mem(Op.i64_load, S_REGS).set(0);
          this.get(SB).mem(Op.i32_load, S_LEFT).set(LEFT);
          this.reloadTables();
          return;
        }
        this.insn(pc);
        return;
      default:
        this.insn(pc);
    }
  }

  /** Pushes the condition of jump handler `h` (i32, nonzero = taken). */
  condition(h: number, d: number, s: number): void {
    const k = h <= Hd.jLast ? h - Hd.jeqFirst : h - Hd.j32First;
    const w64 = h <= Hd.jLast;
    if (w64) this.get(d).src64(s);
    else this.dst32(d).src32(s);
    if (k === 3) { // jset
      if (w64) this.op(Op.i64_and, Op.i64_eqz, Op.i32_eqz);
      else this.op(Op.i32_and);
      return;
    }
    const ops64 = [Op.i64_eq, Op.i64_gt_u, Op.i64_ge_u, 0, Op.i64_ne, Op.i64_gt_s, Op.i64_ge_s, Op.i64_lt_u, Op.i64_le_u, Op.i64_lt_s, Op.i64_le_s];
    const ops32 = [Op.i32_eq, Op.i32_gt_u, Op.i32_ge_u, 0, Op.i32_ne, Op.i32_gt_s, Op.i32_ge_s, Op.i32_lt_u, Op.i32_le_u, Op.i32_lt_s, Op.i32_le_s];
    this.op((w64 ? ops64 : ops32)[k]!);
  }

  /** The code of one block in `step`: per-instruction budget checks, no terminator (the budget runs out before it). */
  stepCode(block: Block): void {
    const p = this.p;
    for (let i = 0; i < block.pcs.length; i++) {
      const pc = block.pcs[i]!;
      this.get(MG).op(Op.i32_eqz).if_().trap(TRAP_BUDGET, pc).end();
      const terminal = i === block.pcs.length - 1 && (block.start === p.slots || isTerminator(p, this.cfg, pc));
      if (terminal) break;
      this.insn(pc);
      this.get(MG).i32(1).op(Op.i32_sub).set(MG);
    }
    this.op(Op.unreachable);
  }
}

function isTerminator(p: PreparedProgram, cfg: Cfg, pc: number): boolean {
  return endsBlock(p, pc, cfg.callbacks.length > 0);
}

function bpfFunction(p: PreparedProgram, cfg: Cfg, f: { entry: number; blocks: readonly number[] }, funcIndex: ReadonlyMap<number, number>, dispatchAll: boolean, inline: ReadonlyMap<number, Inlined>, bases: ReadonlyMap<number, number>, values: ReadonlyMap<number, ValueBase>): FuncBody & { unchecked: number } {
  const e = new Emitter(p, cfg, false, dispatchAll, inline, bases, values);
  e.prologue();
  const blocks = f.blocks.map((i) => cfg.blocks[i]!);
  // Dispatch targets: the entry block, then every target of a backward jump.
  const dispatch = new Map<number, number>();
  dispatch.set(cfg.blockAt[f.entry]!, 0);
  for (const b of blocks) {
    if (b.target >= 0) {
      const t = cfg.blockAt[b.target]!;
      if ((t <= b.index || dispatchAll) && !dispatch.has(t)) dispatch.set(t, dispatch.size);
    }
  }
  e.loop('L');
  for (let i = blocks.length - 1; i >= 0; i--) e.block(blocks[i]!.index);
  const first = blocks[0]!.index;
  if (!(dispatch.size === 1 && dispatch.has(first))) {
    const order = [...dispatch.entries()].sort((x, y) => x[1] - y[1]).map(([blk]) => blk);
    e.get(NEXT).op(Op.br_table).u(order.length);
    for (const blk of order) e.u(e.depth(blk));
    e.u(e.depth(order[0]!));
  }
  for (const b of blocks) {
    e.end();
    e.blockCode(b, dispatch, funcIndex);
  }
  e.end(); // loop
  e.op(Op.unreachable);
  return { type: T_BPF, locals: EXTRA_LOCALS, code: e.w.finish(), unchecked: e.unchecked };
}

function stepFunction(p: PreparedProgram, cfg: Cfg, inline: ReadonlyMap<number, Inlined>, bases: ReadonlyMap<number, number>, values: ReadonlyMap<number, ValueBase>): FuncBody {
  const e = new Emitter(p, cfg, true, false, inline, bases, values);
  e.prologue();
  const n = cfg.blocks.length;
  for (let i = n - 1; i >= 0; i--) e.block(i);
  e.get(SB).mem(Op.i32_load, S_BLOCK).op(Op.br_table).u(n);
  for (let i = 0; i < n; i++) e.u(e.depth(i));
  e.u(e.depth(n - 1));
  for (let i = 0; i < n; i++) {
    e.end();
    e.stepCode(cfg.blocks[i]!);
  }
  return { type: T_STEP, locals: EXTRA_LOCALS, code: e.w.finish() };
}

/** `enter(depth, mayGoto)` of BPF function `func`: registers from the scratch, r0..r5 back to it (tail-call targets, callbacks). */
function enterFunction(func: number): FuncBody {
  // params: depth (0), mayGoto (1); locals: scratch base (2), r0..r5 results (3..8)
  const w = new ByteWriter();
  const op = (...c: number[]): void => void c.forEach((x) => w.byte(x));
  op(Op.global_get);
  w.u32(0);
  op(Op.local_set);
  w.u32(2);
  for (let r = 0; r <= 10; r++) {
    op(Op.local_get);
    w.u32(2);
    op(Op.i64_load);
    w.u32(0).u32(S_REGS + r * 8);
  }
  op(Op.local_get);
  w.u32(0);
  op(Op.local_get);
  w.u32(1);
  op(Op.call);
  w.u32(func);
  for (let r = 5; r >= 0; r--) {
    op(Op.local_set);
    w.u32(3 + r);
  }
  for (let r = 0; r <= 5; r++) {
    op(Op.local_get);
    w.u32(2);
    op(Op.local_get);
    w.u32(3 + r);
    op(Op.i64_store);
    w.u32(0).u32(S_REGS + r * 8);
  }
  return { type: T_ENTER, locals: [I32, I64, I64, I64, I64, I64, I64], code: w.finish() };
}

/** A compiled `WebAssembly.Module` (the project's TS libs do not declare WebAssembly). */
export type WasmModule = object;

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * Compiles a prepared program to a WebAssembly module (synchronously). Throws NotSupportedError
 * naming the pc of an instruction it cannot compile.
 */
export function compileProgram(p: PreparedProgram, options: CompileOptions = {}): CompiledProgram {
  const cfg = analyze(p);
  const funcIndex = new Map<number, number>();
  cfg.funcs.forEach((f, i) => funcIndex.set(f.entry, i));
  // Hash lookup functions follow the BPF functions.
  const { sites: inline, hashMaps } = inlineLookups(p, cfg, F_FIRST_BPF + cfg.funcs.length);
  const extent = frameExtent(p, cfg);
  const bases = stackBases(p, cfg);
  const values = valueBases(p, cfg, inline);
  const functions: FuncBody[] = [enterFunction(F_FIRST_BPF), stepFunction(p, cfg, inline, bases, values), runFunction(extent, F_FIRST_BPF, T_RUN), repeatFunction(extent, F_FIRST_BPF, T_REPEAT)];
  let unchecked = 0;
  for (const f of cfg.funcs) {
    const body = bpfFunction(p, cfg, f, funcIndex, options.dispatchAll ?? false, inline, bases, values);
    unchecked += body.unchecked;
    functions.push(body);
  }
  for (const m of hashMaps) functions.push(hashLookupFunction(m as Extract<InlineMapLookup, { kind: 'hash' }>, T_HASH));
  const exports = [{ name: 'enter', func: F_ENTER }, { name: 'run', func: F_RUN }, { name: 'repeat', func: F_REPEAT }];
  for (const slot of cfg.callbacks) {
    exports.push({ name: `callback${slot}`, func: IMPORT_TYPES.length + functions.length });
    functions.push(enterFunction(F_FIRST_BPF + funcIndex.get(slot)!));
  }
  const wasm = encodeModule({
    types: TYPES,
    memory: { module: IMPORT_MODULE, name: 'memory', min: 1 },
    globals: [{ module: IMPORT_MODULE, name: 'scratch' }],
    imports: IMPORT_NAMES.map((name, i) => ({ module: IMPORT_MODULE, name, type: IMPORT_TYPES[i]! })),
    functions,
    exports,
  });
  return { module: new Wasm.Module(wasm), wasm, blocks: cfg.blocks.length, functions: cfg.funcs.length, callbacks: cfg.callbacks, frameExtent: extent, inlinedLookups: inline.size, uncheckedAccesses: unchecked };
}

export { F_LOAD, F_STORE_FAULT, F_HELPER, F_TAIL, F_TRAP, F_LDABS };
