// Hash map lookups generated as WebAssembly: jhash of the key and the bucket walk over the map's tables in memory.
//
// One function per map a program looks up by a known pointer: `(key: i32, cpu: i32) -> i64`, the
// value pointer or 0, with the map's constants (table offsets, key size, seed, strides) baked in.
// It computes exactly what src/maps/hash.ts's `find` does: jhash (src/maps/jhash.ts, the kernel's
// lookup3) over key_size bytes read little-endian, the head of bucket hash & (n_buckets - 1),
// then each slot of the list whose hash and key bytes are equal.

import { BpfFuncId } from '../isa/uapi.generated.js';
import { JHASH_INITVAL } from '../maps/jhash.js';
import type { InlineHashLookup, InlineMapLookup, PreparedProgram } from '../vm/program.js';
import { STRIDE } from '../vm/program.js';
import { type Cfg, Hd } from './cfg.js';
import { ByteWriter, type FuncBody, I32, Op, VOID } from './wasm-writer.js';

/** Largest key compared inline (longer keys keep the helper call). */
export const MAX_INLINE_KEY = 128;

// Params and locals.
const KEY = 0, CPU = 1, A = 2, B = 3, C = 4, H = 5, S = 6, K = 7;

/** The body of the lookup function of map `m`, of function type `type` ((i32, i32) -> i64). */
export function hashLookupFunction(m: InlineHashLookup, type: number): FuncBody {
  const w = new ByteWriter();
  const op = (...c: number[]): void => void c.forEach((x) => w.byte(x));
  const get = (i: number): void => op(Op.local_get, i);
  const set = (i: number): void => op(Op.local_set, i);
  const i32 = (v: number): void => {
    op(Op.i32_const);
    w.s32(v | 0);
  };
  const mem = (o: number, offset: number): void => {
    op(o);
    w.u32(0).u32(offset);
  };
  const rol = (x: number, k: number): void => {
    get(x);
    i32(k);
    op(Op.i32_rotl);
  };
  // x = x - y; x ^= rol(y, k); y = y + z  (one line of __jhash_mix)
  const mixLine = (x: number, y: number, z: number, k: number): void => {
    get(x);
    get(y);
    op(Op.i32_sub);
    rol(y, k);
    op(Op.i32_xor);
    set(x);
    get(y);
    get(z);
    op(Op.i32_add);
    set(y);
  };
  // x ^= y; x = x - rol(y, k)  (one line of __jhash_final)
  const finalLine = (x: number, y: number, k: number): void => {
    get(x);
    get(y);
    op(Op.i32_xor);
    rol(y, k);
    op(Op.i32_sub);
    set(x);
  };
  /** Pushes the little-endian word of `n` (1..4) key bytes at `at`. */
  const word = (at: number, n: number): void => {
    get(KEY);
    if (n === 4) return mem(Op.i32_load, at);
    if (n === 1) return mem(Op.i32_load8_u, at);
    mem(Op.i32_load16_u, at);
    if (n === 3) {
      get(KEY);
      mem(Op.i32_load8_u, at + 2);
      i32(16);
      op(Op.i32_shl, Op.i32_or);
    }
  };
  const add = (x: number, at: number, n: number): void => {
    get(x);
    word(at, n);
    op(Op.i32_add);
    set(x);
  };

  const len = m.keySize;
  i32((JHASH_INITVAL + len + m.seed) | 0);
  op(Op.local_tee, A, Op.local_tee, B);
  set(C);
  let k = 0;
  let n = len;
  for (; n > 12; n -= 12, k += 12) {
    add(A, k, 4);
    add(B, k + 4, 4);
    add(C, k + 8, 4);
    mixLine(A, C, B, 4);
    mixLine(B, A, C, 6);
    mixLine(C, B, A, 8);
    mixLine(A, C, B, 16);
    mixLine(B, A, C, 19);
    mixLine(C, B, A, 4);
  }
  if (n > 0) {
    const regs = [A, B, C];
    for (let i = 0; i < 3; i++) {
      const bytes = Math.min(4, n - 4 * i);
      if (bytes > 0) add(regs[i]!, k + 4 * i, bytes);
    }
    finalLine(C, B, 14);
    finalLine(A, C, 11);
    finalLine(B, A, 25);
    finalLine(C, B, 16);
    finalLine(A, C, 4);
    finalLine(B, A, 14);
    finalLine(C, B, 24);
  }
  get(C);
  set(H);
  // s = heads[h & (n_buckets - 1)]
  get(H);
  i32(m.nBuckets - 1);
  op(Op.i32_and);
  i32(2);
  op(Op.i32_shl);
  mem(Op.i32_load, m.heads);
  set(S);
  op(Op.block, VOID, Op.loop, VOID);
  get(S);
  i32(0);
  op(Op.i32_lt_s, Op.br_if, 1);
  // hashes[s] == h
  op(Op.block, VOID);
  get(S);
  i32(2);
  op(Op.i32_shl);
  mem(Op.i32_load, m.hashes);
  get(H);
  op(Op.i32_ne, Op.br_if, 0);
  // keys[s * key_size ..] == key
  get(S);
  i32(len);
  op(Op.i32_mul);
  i32(m.keys);
  op(Op.i32_add);
  set(K);
  for (let at = 0; at < len; ) {
    const size = len - at >= 8 ? 8 : len - at >= 4 ? 4 : len - at >= 2 ? 2 : 1;
    const load = size === 8 ? Op.i64_load : size === 4 ? Op.i32_load : size === 2 ? Op.i32_load16_u : Op.i32_load8_u;
    get(K);
    mem(load, at);
    get(KEY);
    mem(load, at);
    op(size === 8 ? Op.i64_ne : Op.i32_ne, Op.br_if, 0);
    at += size;
  }
  // Found: tag:dataOffset + s * slotStride + cpu * cpuStride.
  op(Op.i64_const);
  w.s64(m.dataOffset, m.tag);
  get(S);
  op(Op.i64_extend_i32_u, Op.i64_const);
  w.s64(m.slotStride | 0, 0);
  op(Op.i64_mul, Op.i64_add);
  if (m.cpuStride !== 0) {
    get(CPU);
    op(Op.i64_extend_i32_u, Op.i64_const);
    w.s64(m.cpuStride | 0, 0);
    op(Op.i64_mul, Op.i64_add);
  }
  op(Op.return);
  op(Op.end); // block: not this slot
  get(S);
  i32(2);
  op(Op.i32_shl);
  mem(Op.i32_load, m.next);
  set(S);
  op(Op.br, 0, Op.end, Op.end); // loop, block
  op(Op.i64_const, 0);
  return { type, locals: [I32, I32, I32, I32, I32, I32], code: w.finish() };
}

/** A lookup compiled in place of the helper call: the map, and for hash maps the index of its lookup function. */
export interface Inlined {
  readonly map: InlineMapLookup;
  readonly func: number;
}

/**
 * The bpf_map_lookup_elem calls whose map is a known array or hash (r1 set by an `lddw` of its
 * pointer earlier in the same block), by pc; hash maps get one lookup function each, numbered
 * from `firstFunc`. Programs with callbacks keep every call generic.
 */
export function inlineLookups(p: PreparedProgram, cfg: Cfg, firstFunc: number): { sites: Map<number, Inlined>; hashMaps: InlineMapLookup[] } {
  const sites = new Map<number, Inlined>();
  const hashMaps: InlineMapLookup[] = [];
  const funcOf = new Map<number, number>();
  if (!p.inlineMap || cfg.callbacks.length > 0) return { sites, hashMaps };
  const code = p.code;
  for (const blk of cfg.blocks) {
    let r1: number | undefined;
    for (const pc of blk.pcs) {
      const b = pc * STRIDE;
      const h = code[b]!;
      const d = code[b + 1]!;
      if (h === Hd.lddw && d === 1) r1 = (code[b + 4]! >>> 0) + (code[b + 5]! >>> 0) * 4294967296;
      else if (h === Hd.callHelper) {
        if (r1 !== undefined && p.helperIds[code[b + 5]!] === BpfFuncId.map_lookup_elem) {
          const m = p.inlineMap(r1);
          if (m?.kind === 'array') sites.set(pc, { map: m, func: -1 });
          else if (m?.kind === 'hash' && m.keySize <= MAX_INLINE_KEY) {
            let func = funcOf.get(r1);
            if (func === undefined) {
              func = firstFunc + hashMaps.length;
              funcOf.set(r1, func);
              hashMaps.push(m);
            }
            sites.set(pc, { map: m, func });
          }
        }
      } else if (h <= 43 || (h >= 75 && h <= 81) || h === 92) {
        if (d === 1) r1 = undefined;
      } else if ((h === 90 || h === 91) && code[b + 2] === 1) r1 = undefined;
    }
  }
  return { sites, hashMaps };
}
