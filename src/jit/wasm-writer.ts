// A minimal WebAssembly binary writer: LEB128, value types, the opcodes the JIT emits, module sections.

/** Wasm value types. */
export const I32 = 0x7f;
/** See I32. */
export const I64 = 0x7e;
/** A value type byte. */
export type ValType = typeof I32 | typeof I64;

/** The opcodes the JIT emits (WebAssembly core spec, binary format). */
export const Op = {
  unreachable: 0x00, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, br_if: 0x0d, br_table: 0x0e, return: 0x0f, call: 0x10, drop: 0x1a,
  select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22, global_get: 0x23,
  i32_load: 0x28, i64_load: 0x29, i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a, i32_store16: 0x3b, i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b, i32_le_s: 0x4c, i32_le_u: 0x4d,
  i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55, i64_gt_u: 0x56, i64_le_s: 0x57, i64_le_u: 0x58,
  i64_ge_s: 0x59, i64_ge_u: 0x5a,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70, i32_and: 0x71, i32_or: 0x72,
  i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76, i32_rotl: 0x77, i32_rotr: 0x78,
  i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80, i64_rem_s: 0x81, i64_rem_u: 0x82, i64_and: 0x83, i64_or: 0x84,
  i64_xor: 0x85, i64_shl: 0x86, i64_shr_s: 0x87, i64_shr_u: 0x88, i64_rotl: 0x89, i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0, i32_extend16_s: 0xc1, i64_extend8_s: 0xc2, i64_extend16_s: 0xc3, i64_extend32_s: 0xc4,
} as const;

/** Block type of a block/loop/if without params or results. */
export const VOID = 0x40;

/** A growable byte buffer with LEB128 encoders. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  /** Bytes written so far. */
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.length));
    this.buf = b;
  }
  /** Appends one byte. */
  byte(b: number): this {
    this.room(1);
    this.buf[this.length++] = b & 0xff;
    return this;
  }
  /** Appends bytes. */
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** Unsigned LEB128 of a non-negative integer below 2^32. */
  u32(v: number): this {
    let x = v >>> 0;
    do {
      const b = x & 0x7f;
      x >>>= 7;
      this.byte(x !== 0 ? b | 0x80 : b);
    } while (x !== 0);
    return this;
  }
  /** Signed LEB128 of a 32-bit integer. */
  s32(v: number): this {
    let x = v | 0;
    for (;;) {
      const b = x & 0x7f;
      x >>= 7;
      if ((x === 0 && (b & 0x40) === 0) || (x === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }
  /** Signed LEB128 of a 64-bit integer given as halves (compile time only: uses BigInt). */
  s64(lo: number, hi: number): this {
    let x = BigInt.asIntN(64, (BigInt(hi | 0) << 32n) | BigInt(lo >>> 0));
    for (;;) {
      const b = Number(x & 0x7fn);
      x >>= 7n;
      if ((x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }
  /** A length-prefixed UTF-8 name (ASCII here). */
  name(s: string): this {
    this.u32(s.length);
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
    return this;
  }
  /** The bytes written, a copy. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A function type: params and results. */
export interface FuncType {
  readonly params: readonly ValType[];
  readonly results: readonly ValType[];
}

/** An imported function. */
export interface FuncImport {
  readonly module: string;
  readonly name: string;
  readonly type: number;
}

/** A defined function: its type, extra locals (after the params) and body (without the final `end`). */
export interface FuncBody {
  readonly type: number;
  readonly locals: readonly ValType[];
  readonly code: Uint8Array;
}

/** What a module needs: one imported memory, imported immutable i32 globals, functions, exports. */
export interface ModuleSpec {
  readonly types: readonly FuncType[];
  /** Imported memory (module, name), minimum pages. */
  readonly memory: { readonly module: string; readonly name: string; readonly min: number };
  /** Imported immutable i32 globals, global indexes 0.. */
  readonly globals: readonly { readonly module: string; readonly name: string }[];
  readonly imports: readonly FuncImport[];
  readonly functions: readonly FuncBody[];
  /** Exported functions by name: function index (imports first). */
  readonly exports: readonly { readonly name: string; readonly func: number }[];
}

function section(out: ByteWriter, id: number, body: ByteWriter): void {
  out.byte(id).u32(body.length).bytes(body.finish());
}

/** Encodes a module as a WebAssembly binary. */
export function encodeModule(m: ModuleSpec): Uint8Array {
  const out = new ByteWriter();
  out.bytes(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  const types = new ByteWriter().u32(m.types.length);
  for (const t of m.types) {
    types.byte(0x60).u32(t.params.length);
    for (const p of t.params) types.byte(p);
    types.u32(t.results.length);
    for (const r of t.results) types.byte(r);
  }
  section(out, 1, types);
  const imports = new ByteWriter().u32(1 + m.globals.length + m.imports.length);
  imports.name(m.memory.module).name(m.memory.name).byte(0x02).byte(0x00).u32(m.memory.min);
  for (const g of m.globals) imports.name(g.module).name(g.name).byte(0x03).byte(I32).byte(0x00);
  for (const f of m.imports) imports.name(f.module).name(f.name).byte(0x00).u32(f.type);
  section(out, 2, imports);
  const funcs = new ByteWriter().u32(m.functions.length);
  for (const f of m.functions) funcs.u32(f.type);
  section(out, 3, funcs);
  const exports = new ByteWriter().u32(m.exports.length);
  for (const e of m.exports) exports.name(e.name).byte(0x00).u32(e.func);
  section(out, 7, exports);
  const code = new ByteWriter().u32(m.functions.length);
  for (const f of m.functions) {
    const body = new ByteWriter();
    // Locals, run-length encoded by type.
    const runs: [number, ValType][] = [];
    for (const l of f.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === l) last[0]++;
      else runs.push([1, l]);
    }
    body.u32(runs.length);
    for (const [n, t] of runs) body.u32(n).byte(t);
    body.bytes(f.code).byte(Op.end);
    code.u32(body.length).bytes(body.finish());
  }
  section(out, 10, code);
  return out.finish();
}
