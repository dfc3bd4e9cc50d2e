// Seeded mutation of BPF ELF objects for fuzzing loadObject, and the walk that touches a loaded ObjectSpec.
//
// Every input is a pure function of (seed, iteration): `fuzzInput(corpus, seed, i)` rebuilds
// iteration i on its own, so a failure (or a hang a watchdog caught) is reproduced from two
// numbers. Mutations aim at the structures the loader reads: the ELF header, section headers,
// symbols, relocations, the .BTF header and type records, the .BTF.ext header and records,
// instructions — plus blind bit flips, byte runs, truncation and chunk duplication/removal.

import { BtfError, BtfUnsizedTypeError, type Btf } from '../../src/btf/index.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { BpfkitError } from '../../src/errors.js';
import { encode } from '../../src/isa/encode.js';
import type { MapSpec, ObjectSpec } from '../../src/elf/object-spec.js';

/** A deterministic PRNG (mulberry32) with the helpers mutations need. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n); 0 when n <= 0. */
  int(n: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
}

/** mulberry32 seeded with `seed` (any 32-bit integer). */
export function prng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number): number => (n <= 0 ? 0 : Math.floor(next() * n));
  return { next, int, pick: <T>(items: readonly T[]): T => items[int(items.length)] as T, chance: (p) => next() < p };
}

/** The per-iteration seed: a 32-bit mix of the run seed and the iteration number. */
export function iterationSeed(seed: number, iteration: number): number {
  let h = Math.imul((seed ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.imul(iteration + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  return h >>> 0;
}

/** One corpus entry: a name for messages and the pristine bytes. */
export interface CorpusEntry {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A mutated input and how it was made. */
export interface FuzzInput {
  /** Which corpus entry it started from. */
  readonly base: string;
  /** The mutated bytes. */
  readonly bytes: Uint8Array;
  /** One line per mutation applied. */
  readonly log: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// A forgiving look at the layout: every read is bounds-checked, earlier mutations may have
// broken anything, and a missing structure just means that mutation does nothing.

interface Section {
  readonly index: number;
  readonly hdr: number; // file offset of the section header
  readonly name: string;
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly entsize: number;
}

interface Layout {
  readonly le: boolean;
  readonly view: DataView;
  readonly sections: readonly Section[];
}

const SHT_SYMTAB = 2;
const SHT_REL = 9;
const SHT_RELA = 4;

function u16(v: DataView, at: number, le: boolean): number {
  return at >= 0 && at + 2 <= v.byteLength ? v.getUint16(at, le) : 0;
}
function u32(v: DataView, at: number, le: boolean): number {
  return at >= 0 && at + 4 <= v.byteLength ? v.getUint32(at, le) : 0;
}
function u64(v: DataView, at: number, le: boolean): number {
  return at >= 0 && at + 8 <= v.byteLength ? Number(v.getBigUint64(at, le) & 0xffffffffn) : 0;
}

function layout(bytes: Uint8Array): Layout {
  const le = bytes[5] !== 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shoff = u64(view, 40, le);
  const shnum = Math.min(u16(view, 60, le), 512);
  const shstrndx = u16(view, 62, le);
  const raw: (Omit<Section, 'name'> & { nameOff: number })[] = [];
  for (let i = 0; i < shnum; i++) {
    const hdr = shoff + i * 64;
    if (hdr + 64 > bytes.length) break;
    raw.push({ index: i, hdr, nameOff: u32(view, hdr, le), type: u32(view, hdr + 4, le), offset: u64(view, hdr + 24, le), size: u64(view, hdr + 32, le), entsize: u64(view, hdr + 56, le) });
  }
  const strtab = raw[shstrndx];
  const nameAt = (off: number): string => {
    if (!strtab) return '';
    const start = strtab.offset + off;
    if (off >= strtab.size || start >= bytes.length) return '';
    let end = start;
    while (end < bytes.length && end < start + 64 && bytes[end] !== 0) end++;
    return String.fromCharCode(...bytes.subarray(start, end));
  };
  return { le, view, sections: raw.map(({ nameOff, ...s }) => ({ ...s, name: nameAt(nameOff) })) };
}

/** The bytes of a section that really lie inside the file: [start, end). */
function extent(bytes: Uint8Array, s: Section): [number, number] | undefined {
  const start = s.offset;
  const end = Math.min(bytes.length, s.offset + s.size);
  return start < end ? [start, end] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Values and writers.

const FILL = [0x00, 0xff, 0x7f, 0x80] as const;

/** Values that tend to break bounds checks: edges, sign bits, the file's own lengths. */
function interesting(rng: Rng, width: 2 | 4 | 8, fileLength: number, extra: readonly number[] = []): bigint {
  const common = [0n, 1n, 2n, 3n, 4n, 7n, 8n, 12n, 16n, 24n, 64n, 0x7fn, 0x80n, 0xffn, 0x100n, 0x7fffn, 0x8000n, 0xffffn, 0x10000n];
  const wide = [0x7fffffffn, 0x80000000n, 0xfffffff0n, 0xffffffffn, 0x100000000n, 1n << 53n, (1n << 53n) + 1n, 0x7fffffffffffffffn, 1n << 63n, 0xffffffffffffffffn];
  const file = [BigInt(fileLength), BigInt(fileLength) - 1n, BigInt(fileLength) + 1n, BigInt(rng.int(fileLength + 1))];
  const pool = [...common, ...(width > 2 ? wide : []), ...file, ...extra.map(BigInt)];
  const v = rng.chance(0.1) ? BigInt(rng.int(2 ** 32)) * (width === 8 ? BigInt(rng.int(2 ** 32)) : 1n) : rng.pick(pool);
  return BigInt.asUintN(width * 8, v < 0n ? -v : v);
}

function write(bytes: Uint8Array, at: number, width: 1 | 2 | 4 | 8, value: bigint, le: boolean): boolean {
  if (at < 0 || at + width > bytes.length) return false;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const masked = BigInt.asUintN(width * 8, value);
  if (width === 1) v.setUint8(at, Number(masked));
  else if (width === 2) v.setUint16(at, Number(masked), le);
  else if (width === 4) v.setUint32(at, Number(masked), le);
  else v.setBigUint64(at, masked, le);
  return true;
}

const hex = (n: number | bigint): string => `0x${n.toString(16)}`;

/** [offset, width, name] of the fields of a structure. */
type Field = readonly [number, 1 | 2 | 4 | 8, string];

const EHDR: readonly Field[] = [
  [4, 1, 'EI_CLASS'], [5, 1, 'EI_DATA'], [6, 1, 'EI_VERSION'], [16, 2, 'e_type'], [18, 2, 'e_machine'], [20, 4, 'e_version'],
  [40, 8, 'e_shoff'], [52, 2, 'e_ehsize'], [58, 2, 'e_shentsize'], [60, 2, 'e_shnum'], [62, 2, 'e_shstrndx'], [32, 8, 'e_phoff'], [56, 2, 'e_phnum'],
];
const SHDR: readonly Field[] = [
  [0, 4, 'sh_name'], [4, 4, 'sh_type'], [8, 8, 'sh_flags'], [24, 8, 'sh_offset'], [32, 8, 'sh_size'], [40, 4, 'sh_link'], [44, 4, 'sh_info'], [48, 8, 'sh_addralign'], [56, 8, 'sh_entsize'],
];
const SYM: readonly Field[] = [[0, 4, 'st_name'], [4, 1, 'st_info'], [5, 1, 'st_other'], [6, 2, 'st_shndx'], [8, 8, 'st_value'], [16, 8, 'st_size']];
const REL: readonly Field[] = [[0, 8, 'r_offset'], [8, 4, 'r_type'], [12, 4, 'r_sym'], [8, 8, 'r_info'], [16, 8, 'r_addend']];
const BTF_HDR: readonly Field[] = [
  [0, 2, 'magic'], [2, 1, 'version'], [3, 1, 'flags'], [4, 4, 'hdr_len'], [8, 4, 'type_off'], [12, 4, 'type_len'], [16, 4, 'str_off'], [20, 4, 'str_len'],
];
const BTF_EXT_HDR: readonly Field[] = [
  [0, 2, 'magic'], [2, 1, 'version'], [3, 1, 'flags'], [4, 4, 'hdr_len'], [8, 4, 'func_info_off'], [12, 4, 'func_info_len'],
  [16, 4, 'line_info_off'], [20, 4, 'line_info_len'], [24, 4, 'core_relo_off'], [28, 4, 'core_relo_len'],
];

/** Writes an interesting value (or, for 1-byte fields, a fill byte) into field `f` of a structure at `base`. */
function hitField(rng: Rng, bytes: Uint8Array, le: boolean, base: number, f: Field, what: string, log: string[], extra: readonly number[] = []): void {
  const [at, width, name] = f;
  const value = width === 1 ? BigInt(rng.chance(0.5) ? rng.pick(FILL) : rng.int(256)) : interesting(rng, width, bytes.length, extra);
  if (write(bytes, base + at, width, value, le)) log.push(`${what} ${name} = ${hex(value)}`);
}

/** Record offsets of the .BTF type section (walked with the real record sizes), at most 4096. */
function btfRecords(le: boolean, view: DataView, start: number, end: number): { at: number; extra: number }[] {
  const out: { at: number; extra: number }[] = [];
  let at = start;
  while (at + 12 <= end && out.length < 4096) {
    const info = u32(view, at + 4, le);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const extra = [0, 4, 0, 12, 12 * vlen, 12 * vlen, 8 * vlen, 0, 0, 0, 0, 0, 0, 8 * vlen, 4, 12 * vlen, 0, 4, 0, 12 * vlen][kind] ?? 0;
    out.push({ at, extra });
    at += 12 + extra;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The mutations.

type Mutation = (rng: Rng, bytes: Uint8Array, log: string[]) => Uint8Array;

const bitFlips: Mutation = (rng, bytes, log) => {
  const n = 1 + rng.int(8);
  for (let i = 0; i < n && bytes.length > 0; i++) {
    const at = rng.int(bytes.length);
    bytes[at] = (bytes[at] as number) ^ (1 << rng.int(8));
  }
  log.push(`flip ${n} bits`);
  return bytes;
};

const byteRun: Mutation = (rng, bytes, log) => {
  const at = rng.int(bytes.length);
  const n = 1 + rng.int(rng.chance(0.8) ? 4 : 32);
  const fill = rng.chance(0.8) ? rng.pick(FILL) : -1;
  for (let i = at; i < Math.min(bytes.length, at + n); i++) bytes[i] = fill === -1 ? rng.int(256) : fill;
  log.push(`overwrite ${n} bytes at ${hex(at)} with ${fill === -1 ? 'random' : hex(fill)}`);
  return bytes;
};

const randomInteresting: Mutation = (rng, bytes, log) => {
  const width = rng.pick([2, 4, 8] as const);
  const at = rng.int(bytes.length - width + 1) & (rng.chance(0.7) ? ~(width - 1) : ~0);
  const le = rng.chance(0.5);
  const value = interesting(rng, width, bytes.length);
  if (write(bytes, at, width, value, le)) log.push(`u${width * 8} at ${hex(at)} = ${hex(value)}`);
  return bytes;
};

const elfHeader: Mutation = (rng, bytes, log) => {
  const { le, sections } = layout(bytes);
  hitField(rng, bytes, le, 0, rng.pick(EHDR), 'ehdr', log, [sections.length, sections.length - 1, 0xff00, 0xffff]);
  return bytes;
};

const sectionHeader: Mutation = (rng, bytes, log) => {
  const { le, sections } = layout(bytes);
  if (sections.length === 0) return bytes;
  const s = rng.pick(sections);
  const others = sections.map((o) => [o.offset, o.size, o.index]).flat();
  hitField(rng, bytes, le, s.hdr, rng.pick(SHDR), `section ${s.index} (${s.name})`, log, [sections.length, sections.length - 1, 2, 4, 8, 9, 24, ...others]);
  return bytes;
};

const symbolEntry: Mutation = (rng, bytes, log) => {
  const { le, sections } = layout(bytes);
  const symtab = sections.find((s) => s.type === SHT_SYMTAB);
  const ext = symtab && extent(bytes, symtab);
  if (!symtab || !ext) return bytes;
  const count = Math.max(1, Math.floor((ext[1] - ext[0]) / 24));
  const sym = rng.int(count);
  hitField(rng, bytes, le, ext[0] + sym * 24, rng.pick(SYM), `symbol ${sym}`, log, [sections.length, sections.length - 1, 0xfff1, 0xfff2, 0xff00, 0xffff, 0x12, 0x11, 0x10, 0x22]);
  return bytes;
};

const relocationEntry: Mutation = (rng, bytes, log) => {
  const { le, sections } = layout(bytes);
  const rels = sections.filter((s) => s.type === SHT_REL || s.type === SHT_RELA);
  if (rels.length === 0) return bytes;
  const s = rng.pick(rels);
  const ext = extent(bytes, s);
  if (!ext) return bytes;
  const size = s.type === SHT_REL ? 16 : 24;
  const entry = rng.int(Math.max(1, Math.floor((ext[1] - ext[0]) / size)));
  const fields = REL.filter((f) => f[0] + f[1] <= size);
  const symtab = sections.find((x) => x.type === SHT_SYMTAB);
  const nsyms = symtab ? Math.floor(symtab.size / 24) : 0;
  hitField(rng, bytes, le, ext[0] + entry * size, rng.pick(fields), `${s.name} entry ${entry}`, log, [1, 2, 3, 10, nsyms, nsyms - 1, nsyms + 1]);
  return bytes;
};

const btfHeader: Mutation = (rng, bytes, log) => {
  const { le, sections } = layout(bytes);
  const s = sections.find((x) => x.name === '.BTF');
  if (!s) return bytes;
  hitField(rng, bytes, le, s.offset, rng.pick(BTF_HDR), '.BTF header', log, [s.size, s.size - 24, 24, 25, 28]);
  return bytes;
};

const btfType: Mutation = (rng, bytes, log) => {
  const { le, view, sections } = layout(bytes);
  const s = sections.find((x) => x.name === '.BTF');
  const ext = s && extent(bytes, s);
  if (!s || !ext) return bytes;
  const hdrLen = u32(view, ext[0] + 4, le);
  const start = ext[0] + hdrLen + u32(view, ext[0] + 8, le);
  const end = Math.min(ext[1], start + u32(view, ext[0] + 12, le));
  const records = btfRecords(le, view, start, end);
  if (records.length === 0) return bytes;
  const id = rng.int(records.length);
  const rec = records[id]!;
  const ids = [records.length, records.length + 1, id + 1, id, rng.int(records.length + 1)];
  const roll = rng.int(5);
  if (roll === 0 && rec.extra > 0) {
    // A word inside the kind-specific tail: a member's type or offset, an array's nelems...
    const word = rng.int(rec.extra / 4);
    hitField(rng, bytes, le, rec.at + 12 + word * 4, [0, 4, `extra word ${word}`], `.BTF type ${id + 1}`, log, ids);
  } else if (roll === 1) {
    // The info word, rebuilt: any kind (0..31), kind_flag, a vlen that may overrun.
    const info = ((rng.int(32) << 24) | (rng.chance(0.3) ? 1 << 31 : 0) | rng.pick([0, 1, 2, rng.int(0x10000), 0xffff])) >>> 0;
    if (write(bytes, rec.at + 4, 4, BigInt(info), le)) log.push(`.BTF type ${id + 1} info = ${hex(info)}`);
  } else {
    const f: Field = rng.pick([[0, 4, 'name_off'], [4, 4, 'info'], [8, 4, 'size/type'], [8, 4, 'size/type']] as const);
    hitField(rng, bytes, le, rec.at, f, `.BTF type ${id + 1}`, log, ids);
  }
  return bytes;
};

const btfExt: Mutation = (rng, bytes, log) => {
  const { le, view, sections } = layout(bytes);
  const s = sections.find((x) => x.name === '.BTF.ext');
  const ext = s && extent(bytes, s);
  if (!s || !ext) return bytes;
  if (rng.chance(0.6)) {
    hitField(rng, bytes, le, ext[0], rng.pick(BTF_EXT_HDR), '.BTF.ext header', log, [s.size, s.size - 32, 32, 24]);
    return bytes;
  }
  // A subsection: its record size, a section block header, or a record word.
  const hdrLen = u32(view, ext[0] + 4, le);
  const which = rng.int(3);
  const off = u32(view, ext[0] + 8 + which * 8, le);
  const len = u32(view, ext[0] + 12 + which * 8, le);
  const start = ext[0] + hdrLen + off;
  if (len < 4 || start + 4 > ext[1]) return bytes;
  const at = start + 4 * rng.int(Math.min(len, ext[1] - start) / 4);
  hitField(rng, bytes, le, at, [0, 4, 'word'], `.BTF.ext subsection ${which} at +${at - start}`, log, [8, 12, 16, 24, 0x10000]);
  return bytes;
};

const instruction: Mutation = (rng, bytes, log) => {
  const { sections } = layout(bytes);
  const code = sections.filter((s) => s.type === 1 && s.size >= 8 && !s.name.startsWith('.') && s.name !== 'license' || s.name === '.text');
  const s = code.length ? rng.pick(code) : undefined;
  const ext = s && extent(bytes, s);
  if (!s || !ext) return bytes;
  const at = ext[0] + 8 * rng.int((ext[1] - ext[0]) / 8);
  const byte = rng.int(8);
  const value = byte === 0 ? rng.int(256) : rng.chance(0.5) ? rng.pick(FILL) : rng.int(256);
  if (at + byte < bytes.length) bytes[at + byte] = value;
  log.push(`section ${s.name} insn ${(at - ext[0]) / 8} byte ${byte} = ${hex(value)}`);
  return bytes;
};

const truncate: Mutation = (rng, bytes, log) => {
  const len = rng.chance(0.5) ? rng.int(bytes.length) : Math.max(0, bytes.length - 1 - rng.int(256));
  log.push(`truncate to ${len}`);
  return bytes.slice(0, len);
};

const chunk: Mutation = (rng, bytes, log) => {
  const at = rng.int(bytes.length);
  const n = 1 + rng.int(rng.chance(0.5) ? 16 : 256);
  if (rng.chance(0.5)) {
    // Duplicate [from, from+n) at `at`: every later offset goes stale by n.
    const from = rng.int(bytes.length);
    const piece = bytes.slice(from, from + n);
    const out = new Uint8Array(bytes.length + piece.length);
    out.set(bytes.subarray(0, at));
    out.set(piece, at);
    out.set(bytes.subarray(at), at + piece.length);
    log.push(`duplicate ${piece.length} bytes from ${hex(from)} at ${hex(at)}`);
    return out;
  }
  const cut = Math.min(n, bytes.length - at);
  const out = new Uint8Array(bytes.length - cut);
  out.set(bytes.subarray(0, at));
  out.set(bytes.subarray(at + cut), at);
  log.push(`remove ${cut} bytes at ${hex(at)}`);
  return out;
};

/** The mutations with their weights: structure-aware ones dominate, blind ones keep variety. */
const MUTATIONS: readonly [Mutation, number][] = [
  [bitFlips, 8], [byteRun, 8], [randomInteresting, 8], [elfHeader, 4], [sectionHeader, 14], [symbolEntry, 8],
  [relocationEntry, 8], [btfHeader, 5], [btfType, 14], [btfExt, 8], [instruction, 8], [truncate, 3], [chunk, 4],
];
const TOTAL_WEIGHT = MUTATIONS.reduce((a, [, w]) => a + w, 0);

/** Applies 1..maxRounds random mutations to a copy of `bytes`. */
export function mutate(rng: Rng, bytes: Uint8Array, maxRounds = 3): { bytes: Uint8Array; log: string[] } {
  let out: Uint8Array = bytes.slice();
  const log: string[] = [];
  const rounds = 1 + rng.int(maxRounds);
  for (let r = 0; r < rounds && out.length > 0; r++) {
    let roll = rng.int(TOTAL_WEIGHT);
    const entry = MUTATIONS.find(([, w]) => (roll -= w) < 0) ?? MUTATIONS[0]!;
    out = entry[0](rng, out, log);
  }
  return { bytes: out, log };
}

/** Iteration `iteration` of a run seeded `seed`: a corpus entry mutated 1-3 times. */
export function fuzzInput(corpus: readonly CorpusEntry[], seed: number, iteration: number): FuzzInput {
  const rng = prng(iterationSeed(seed, iteration));
  const base = corpus[iteration % corpus.length]!;
  const { bytes, log } = mutate(rng, base.bytes);
  return { base: base.name, bytes, log };
}

// ---------------------------------------------------------------------------------------------
// The walk: what a consumer of an ObjectSpec would touch.

function touchBtfType(btf: Btf, id: number | undefined): number {
  if (id === undefined) return 0;
  let n = btf.format(id).length;
  try {
    n += btf.resolveSize(id);
  } catch (e) {
    // Unsized types (func protos, fwds) are legitimate in BTF; only the error class matters.
    if (!(e instanceof BtfUnsizedTypeError)) throw e;
  }
  return n + btf.skipTypedefs(id).id;
}

function touchMap(m: MapSpec, btf: Btf | undefined): number {
  let n = m.name.length + m.type + m.keySize + m.valueSize + m.maxEntries + m.flags + m.pinning.length + m.section.length + m.origin.length;
  n += (m.numaNode ?? 0) + (m.mapExtra ?? 0) + (m.kernelName?.length ?? 0) + (m.readOnly ? 1 : 0) + (m.data?.length ?? 0);
  if (m.data && m.data.length > 0) n += m.data[0]! + m.data[m.data.length - 1]!;
  for (const e of m.initEntries) n += e.key + e.value.length;
  if (btf) for (const id of [m.keyTypeId, m.valueTypeId, m.btfTypeId]) n += touchBtfType(btf, id);
  if (m.innerMap) n += touchMap(m.innerMap, btf);
  return n;
}

/**
 * Touches everything in a loaded object: encodes every program, reads every map field,
 * formats and sizes the BTF types maps and programs reference, walks BTF.ext. Returns a
 * checksum-like number so the work cannot be optimised away. Throws whatever the accessors throw.
 */
export function exerciseObject(spec: ObjectSpec): number {
  let n = spec.license.length + spec.kernelVersion + spec.warnings.join('').length;
  for (const p of spec.programs) {
    n += encode(p.instructions, { byteOrder: spec.byteOrder }).length;
    n += p.name.length + p.section.length + p.type + (p.expectedAttachType ?? 0) + (p.attachTo?.length ?? 0) + p.flags + p.ownInsnCount + p.sectionOffset;
    for (const f of p.funcInfo) n += f.insn + (spec.btf ? touchBtfType(spec.btf, f.typeId) : f.typeId);
    for (const r of p.coreRelos) n += r.insn + r.typeId + r.accessString.length + r.kind.length + (spec.btf ? touchBtfType(spec.btf, r.typeId) : 0);
    n += p.maps.join('').length + p.externs.join('').length;
    for (const insn of p.instructions) n += (insn.source?.line ?? 0) + (insn.reference?.length ?? 0);
  }
  for (const m of spec.maps) n += touchMap(m, spec.btf);
  for (const e of spec.externs) n += e.name.length + e.kind.length + (e.offset ?? 0) + (e.size ?? 0) + (spec.btf ? touchBtfType(spec.btf, e.btfTypeId) : 0);
  for (const s of spec.sections) n += s.index + s.name.length + s.type.length + s.size + s.role.length;
  if (spec.btfExt) {
    for (const [sec, lines] of spec.btfExt.lineInfos) {
      n += sec.length;
      for (const l of lines) n += l.insnOff + l.fileName.length + l.line.length + l.lineNumber;
      if (lines.length > 0) n += spec.btfExt.lineAt(sec, lines[lines.length - 1]!.insnOff)?.column ?? 0;
    }
    for (const fs of spec.btfExt.funcInfos.values()) n += fs.length;
    for (const rs of spec.btfExt.coreRelos.values()) n += rs.length;
  }
  return n;
}

/**
 * One fuzz iteration's verdict: `ok`, or the code of the BpfkitError loadObject threw, or
 * `walk:<code>` when a BTF accessor refused a loaded object's types (BTF reference cycles are
 * found lazily, when a type is resolved). Anything else escaping — a TypeError, a RangeError,
 * or a loaded program that does not encode — is rethrown: that is a bug.
 */
export function loadAndWalk(bytes: Uint8Array): string {
  let spec: ObjectSpec;
  try {
    spec = loadObject(bytes, { objectName: 'fuzz' });
  } catch (e) {
    if (e instanceof BpfkitError) return e.code;
    throw e;
  }
  try {
    exerciseObject(spec);
  } catch (e) {
    if (e instanceof BtfError) return `walk:${e.code}`;
    throw e;
  }
  return 'ok';
}
