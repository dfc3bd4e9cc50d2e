// Fuzzes the ELF64 reader with mutated real objects: only ElfError may escape, nothing hangs.
//
// BPFKIT_FUZZ_ITERS sets the iteration count (default 5000), BPFKIT_FUZZ_SEED the PRNG seed
// (default: fixed, so CI runs are reproducible). A failing input is written to a temp file whose
// path is in the failure message.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElfError, SHN_LORESERVE, SHN_XINDEX, SHT_DYNSYM, SHT_NOBITS, SHT_NULL, SHT_REL, SHT_RELA, SHT_STRTAB, SHT_SYMTAB, SHT_SYMTAB_SHNDX, parseElf } from '../../src/elf/index.js';

const CLANG = process.env.BPFKIT_CLANG ?? 'clang-16';
const ITERATIONS = Number(process.env.BPFKIT_FUZZ_ITERS ?? 5000);
const SEED = Number(process.env.BPFKIT_FUZZ_SEED ?? 0x5eed_e1f);
/** A single parse + full walk taking this long counts as a hang. */
const SLOW_MS = 2000;

const BPF_C = `
#define SEC(n) __attribute__((section(n), used))
struct xdp_md { unsigned data, data_end, data_meta, ingress_ifindex; };
struct { int (*type)[2]; int (*max_entries)[4]; } counts SEC(".maps");
int hits;
int zero = 0;
const char tag[] = "fuzz";
int *where = &zero;
static void *(*lookup)(void *, const void *) = (void *)1;
__attribute__((noinline)) int step(int x) { return x + tag[x & 3] + *where; }
SEC("xdp") int entry(struct xdp_md *ctx) {
  int *v = lookup(&counts, &hits);
  hits++;
  return v ? step(*v) : step(ctx->ingress_ifindex);
}
char _license[] SEC("license") = "GPL";
`;
const X86_C = 'extern int g(int); int h; int f(int x) { return g(x) + h; }\n';

let dir = '';
const seeds: { name: string; bytes: Uint8Array }[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bpfkit-fuzz-elf-'));
  const compile = (name: string, source: string, args: string[]): void => {
    const src = join(dir, `${name}.c`);
    const out = join(dir, `${name}.o`);
    writeFileSync(src, source);
    execFileSync(CLANG, ['-O2', ...args, '-c', src, '-o', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    seeds.push({ name, bytes: new Uint8Array(readFileSync(out)) });
  };
  compile('bpf-el', BPF_C, ['-g', '-fcommon', '-target', 'bpf']);
  compile('bpf-eb', BPF_C, ['-g', '-fcommon', '-target', 'bpfeb']);
  compile('x86', X86_C, ['-target', 'x86_64-linux-gnu']);
  const dispatcher = '/usr/lib/x86_64-linux-gnu/bpf/xdp-dispatcher.o';
  if (existsSync(dispatcher)) seeds.push({ name: 'xdp-dispatcher', bytes: new Uint8Array(readFileSync(dispatcher)) });
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** mulberry32: a small, fast, seedable PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, items: readonly T[]): T => items[int(rand, items.length)] as T;

/** Values that tend to break bounds checks: edges, lengths, indexes, section types. */
function interesting(rand: Rand, length: number): bigint {
  return pick(rand, [
    0n, 1n, 2n, 3n, 7n, 16n, 24n, 64n, 0x7fn, 0xffn, 0xff00n, 0xfff1n, 0xfff2n, 0xffffn,
    0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n, 0xffffffffffffffffn,
    BigInt(length), BigInt(length) - 1n, BigInt(length) + 1n, BigInt(int(rand, length + 1)),
    BigInt(SHT_NULL), BigInt(SHT_SYMTAB), BigInt(SHT_STRTAB), BigInt(SHT_REL), BigInt(SHT_RELA), BigInt(SHT_NOBITS), BigInt(SHT_DYNSYM), BigInt(SHT_SYMTAB_SHNDX),
    BigInt(int(rand, 2 ** 32)) * BigInt(int(rand, 2 ** 32)),
  ]);
}

function write(bytes: Uint8Array, at: number, width: number, value: bigint, le: boolean): void {
  if (at < 0 || at + width > bytes.length) return;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const masked = BigInt.asUintN(width * 8, value);
  if (width === 1) v.setUint8(at, Number(masked));
  else if (width === 2) v.setUint16(at, Number(masked), le);
  else if (width === 4) v.setUint32(at, Number(masked), le);
  else v.setBigUint64(at, masked, le);
}

/** Header, section-header and table-entry fields: [offset in the structure, width]. */
const EHDR_FIELDS: readonly [number, number][] = [[4, 1], [5, 1], [16, 2], [18, 2], [40, 8], [58, 2], [60, 2], [62, 2], [56, 2]];
const SHDR_FIELDS: readonly [number, number][] = [[0, 4], [4, 4], [8, 8], [24, 8], [32, 8], [40, 4], [44, 4], [56, 8]];
const SYM_FIELDS: readonly [number, number][] = [[0, 4], [4, 1], [5, 1], [6, 2]];
const REL_FIELDS: readonly [number, number][] = [[0, 8], [8, 4], [12, 4], [8, 8]];

/** Applies one mutation to `bytes` (possibly returning a new array) and describes it. */
function mutate(rand: Rand, bytes: Uint8Array, log: string[]): Uint8Array {
  const le = bytes[5] !== 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = bytes.length >= 64 ? Number(view.getBigUint64(40, le) & 0xffffffffn) : 0;
  const shnum = bytes.length >= 64 ? view.getUint16(60, le) : 0;
  const shdrAt = (i: number) => shoff + i * 64;
  const sectionOf = (type: number): number | undefined => {
    const found: number[] = [];
    for (let i = 0; i < shnum && shdrAt(i) + 64 <= bytes.length; i++) if (view.getUint32(shdrAt(i) + 4, le) === type) found.push(i);
    return found.length ? pick(rand, found) : undefined;
  };
  const kind = int(rand, 9);
  switch (kind) {
    case 0: {
      const n = 1 + int(rand, 8);
      for (let i = 0; i < n; i++) {
        const at = int(rand, bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << int(rand, 8));
      }
      log.push(`flip ${n} bits`);
      return bytes;
    }
    case 1: {
      const at = int(rand, bytes.length);
      const n = 1 + int(rand, 16);
      const fill = pick(rand, ['ff', '00', 'random'] as const);
      for (let i = at; i < Math.min(bytes.length, at + n); i++) bytes[i] = fill === 'ff' ? 0xff : fill === '00' ? 0 : int(rand, 256);
      log.push(`overwrite ${n} bytes at 0x${at.toString(16)} with ${fill}`);
      return bytes;
    }
    case 2: {
      const len = int(rand, bytes.length);
      log.push(`truncate to ${len}`);
      return bytes.subarray(0, len);
    }
    case 3: {
      const [at, width] = pick(rand, EHDR_FIELDS);
      const value = interesting(rand, bytes.length);
      write(bytes, at, width, value, le);
      log.push(`ehdr field @${at} = 0x${value.toString(16)}`);
      return bytes;
    }
    case 4:
    case 5: {
      if (shnum === 0) return bytes;
      const i = int(rand, shnum);
      const [at, width] = pick(rand, SHDR_FIELDS);
      const value = interesting(rand, bytes.length);
      write(bytes, shdrAt(i) + at, width, value, le);
      log.push(`section ${i} field @${at} = 0x${value.toString(16)}`);
      return bytes;
    }
    case 6: {
      const s = sectionOf(SHT_SYMTAB);
      if (s === undefined) return bytes;
      const off = Number(view.getBigUint64(shdrAt(s) + 24, le) & 0xffffffffn);
      const size = Number(view.getBigUint64(shdrAt(s) + 32, le) & 0xffffffffn);
      const sym = int(rand, Math.max(1, Math.floor(size / 24)));
      const [at, width] = pick(rand, SYM_FIELDS);
      const value = rand() < 0.3 ? BigInt(pick(rand, [SHN_XINDEX, SHN_LORESERVE - 1, shnum, shnum - 1])) : interesting(rand, bytes.length);
      write(bytes, off + sym * 24 + at, width, value, le);
      log.push(`symbol ${sym} field @${at} = 0x${value.toString(16)}`);
      return bytes;
    }
    case 7: {
      const s = sectionOf(rand() < 0.5 ? SHT_REL : SHT_RELA);
      if (s === undefined) return bytes;
      const entsize = view.getUint32(shdrAt(s) + 4, le) === SHT_REL ? 16 : 24;
      const off = Number(view.getBigUint64(shdrAt(s) + 24, le) & 0xffffffffn);
      const size = Number(view.getBigUint64(shdrAt(s) + 32, le) & 0xffffffffn);
      const entry = int(rand, Math.max(1, Math.floor(size / entsize)));
      const [at, width] = pick(rand, REL_FIELDS);
      const value = interesting(rand, bytes.length);
      write(bytes, off + entry * entsize + at, width, value, le);
      log.push(`relocation ${entry} in section ${s} field @${at} = 0x${value.toString(16)}`);
      return bytes;
    }
    default: {
      // Insert or delete a run of bytes: every later offset goes stale.
      const at = int(rand, bytes.length);
      const n = 1 + int(rand, 64);
      if (rand() < 0.5) {
        const out = new Uint8Array(bytes.length + n);
        out.set(bytes.subarray(0, at));
        for (let i = 0; i < n; i++) out[at + i] = int(rand, 256);
        out.set(bytes.subarray(at), at + n);
        log.push(`insert ${n} bytes at 0x${at.toString(16)}`);
        return out;
      }
      const cut = Math.min(n, bytes.length - at);
      const out = new Uint8Array(bytes.length - cut);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + cut), at);
      log.push(`delete ${n} bytes at 0x${at.toString(16)}`);
      return out;
    }
  }
}

/** Parses and touches everything, checking the invariants callers rely on. */
function walk(bytes: Uint8Array): void {
  const file = parseElf(bytes);
  assert.equal(file.sections.length, file.header.shnum);
  for (const s of file.sections) {
    const data = s.data();
    const empty = s.type === SHT_NOBITS || s.type === SHT_NULL;
    assert.equal(data.length, empty ? 0 : s.size, `section ${s.index} data length`);
    if (data.length > 0) {
      assert.ok(s.offset + s.size <= bytes.length);
      void data[0];
      void data[data.length - 1];
    }
    assert.ok(file.sectionByName(s.name) !== undefined);
  }
  const shnum = file.sections.length;
  const checkSymbols = (symbols: ReturnType<typeof file.symbolsOf>): void => {
    for (const sym of symbols) assert.ok(sym.shndx >= SHN_LORESERVE || sym.shndx < shnum, `symbol ${sym.index} shndx ${sym.shndx}`);
  };
  checkSymbols(file.symbols);
  checkSymbols(file.dynamicSymbols);
  for (const s of file.sections) if (s.type === SHT_SYMTAB || s.type === SHT_DYNSYM) checkSymbols(file.symbolsOf(s));
  for (const rs of file.relocations) {
    assert.ok(rs.target === undefined || file.sections[rs.target.index] === rs.target);
    const entries = rs.entries;
    assert.equal(entries.length, rs.count);
    const symbolCount = rs.symbolTable === undefined ? 0 : file.symbolsOf(rs.symbolTable).length;
    for (const r of entries) assert.ok(r.symbol === 0 || r.symbol < symbolCount, `relocation ${r.index} symbol ${r.symbol}`);
  }
}

test(`fuzz parseElf: ${ITERATIONS} mutated objects, seed ${SEED}`, { timeout: Math.max(120_000, ITERATIONS * 50) }, (t) => {
  assert.ok(seeds.length >= 3);
  for (const seed of seeds) walk(seed.bytes); // the unmutated seeds are valid
  const rand = prng(SEED);
  const outcomes = { parsed: 0, elfError: 0 };
  let slowest = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const seed = pick(rand, seeds);
    const log: string[] = [];
    let bytes: Uint8Array = seed.bytes.slice();
    const rounds = 1 + int(rand, 3);
    for (let m = 0; m < rounds; m++) bytes = mutate(rand, bytes, log);
    const started = performance.now();
    try {
      walk(bytes);
      outcomes.parsed++;
    } catch (e) {
      if (!(e instanceof ElfError)) {
        const path = join(tmpdir(), `bpfkit-fuzz-elf-failure-${SEED}-${i}.o`);
        writeFileSync(path, bytes);
        assert.fail(`iteration ${i} (seed ${SEED}, input ${seed.name}: ${log.join('; ')}) threw ${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}\ninput saved to ${path}`);
      }
      assert.equal(e.code === 'ERR_ELF_MALFORMED' || e.code === 'ERR_ELF_UNSUPPORTED', true, e.message);
      outcomes.elfError++;
    }
    const took = performance.now() - started;
    slowest = Math.max(slowest, took);
    assert.ok(took < SLOW_MS, `iteration ${i} (${log.join('; ')}) took ${took.toFixed(0)} ms`);
  }
  // Both outcomes must occur, or the mutations are too tame (or too wild) to test anything.
  assert.ok(outcomes.parsed > ITERATIONS / 20, `parsed ${outcomes.parsed}`);
  assert.ok(outcomes.elfError > ITERATIONS / 20, `ElfError ${outcomes.elfError}`);
  t.diagnostic(`fuzz: ${outcomes.parsed} parsed, ${outcomes.elfError} ElfError, slowest ${slowest.toFixed(2)} ms`);
});
