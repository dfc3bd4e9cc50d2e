// Test helpers around the oracles: clang-16 compiles, llvm-objcopy-16 extracts sections, bpftool dumps BTF.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { BtfType } from '../../src/btf/index.js';

/** bpftool, wherever it is installed. */
export const BPFTOOL = ['/usr/sbin/bpftool', '/usr/bin/bpftool', '/usr/local/sbin/bpftool'].find((p) => existsSync(p)) ?? 'bpftool';

/** A temporary directory removed by `dispose`. */
export function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bpfkit-btf-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A compiled object and its raw .BTF / .BTF.ext sections. */
export interface Compiled {
  readonly obj: string;
  readonly btf: Uint8Array;
  readonly ext: Uint8Array;
}

/** `clang-16 -O2 -g -target <target> -c src`, then dumps .BTF and .BTF.ext with llvm-objcopy-16. */
export function compile(src: string, dir: string, target: 'bpf' | 'bpfel' | 'bpfeb' = 'bpf'): Compiled {
  const base = join(dir, `${src.replace(/.*\//, '').replace(/\.c$/, '')}-${target}`);
  const obj = `${base}.o`;
  execFileSync('clang-16', ['-O2', '-g', '-target', target, '-c', src, '-o', obj], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('llvm-objcopy-16', [`--dump-section=.BTF=${base}.btf`, `--dump-section=.BTF.ext=${base}.ext`, obj], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { obj, btf: new Uint8Array(readFileSync(`${base}.btf`)), ext: new Uint8Array(readFileSync(`${base}.ext`)) };
}

/** bpftool's JSON for one type; enumerator values are kept as decimal strings (64-bit safe). */
export type BpftoolType = Record<string, unknown> & { id: number; kind: string; name: string };

/** `bpftool btf dump file <file> -j`, parsed. */
export function bpftoolDump(file: string): BpftoolType[] {
  const out = execFileSync(BPFTOOL, ['btf', 'dump', 'file', file, '-j'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  return (JSON.parse(out.replace(/"val":(-?\d+)/g, '"val":"$1"')) as { types: BpftoolType[] }).types;
}

const anon = (name: string): string => name || '(anon)';
const linkage = (l: string): string => l;
const intEncoding = (t: Extract<BtfType, { kind: 'int' }>): string => {
  const bits = (t.signed ? 1 : 0) | (t.char ? 2 : 0) | (t.bool ? 4 : 0);
  return ({ 0: '(none)', 1: 'SIGNED', 2: 'CHAR', 4: 'BOOL' } as Record<number, string>)[bits] ?? 'UNKN';
};

/** A bpfkit type in bpftool's JSON shape and key order, for one-to-one comparison. */
export function toBpftool(t: BtfType): BpftoolType {
  const head = { id: t.id, kind: t.kind.toUpperCase(), name: anon(t.name) };
  switch (t.kind) {
    case 'void':
      return head;
    case 'int':
      return { ...head, size: t.size, bits_offset: t.bitOffset, nr_bits: t.bits, encoding: intEncoding(t) };
    case 'ptr':
    case 'typedef':
    case 'volatile':
    case 'const':
    case 'restrict':
    case 'type_tag':
      return { ...head, type_id: t.type };
    case 'array':
      return { ...head, type_id: t.type, index_type_id: t.indexType, nr_elems: t.nelems };
    case 'struct':
    case 'union':
      return {
        ...head,
        size: t.size,
        vlen: t.members.length,
        members: t.members.map((m) => ({
          name: anon(m.name),
          type_id: m.type,
          bits_offset: m.bitOffset,
          ...(m.bitfieldSize ? { bitfield_size: m.bitfieldSize } : {}),
        })),
      };
    case 'enum':
    case 'enum64':
      return {
        ...head,
        encoding: t.signed ? 'SIGNED' : 'UNSIGNED',
        size: t.size,
        vlen: t.values.length,
        // bpftool (libbpf 1.1) prints an unsigned 32-bit enumerator through a sign-extending
        // cast: 0xefffffff comes out as 18446744073441116159. Mirror that quirk, not our value.
        values: t.values.map((v) => ({
          name: anon(v.name),
          val: String(t.kind === 'enum' && !t.signed ? BigInt.asUintN(64, BigInt.asIntN(32, BigInt(v.value))) : v.value),
        })),
      };
    case 'fwd':
      return { ...head, fwd_kind: t.fwdKind };
    case 'func':
      return { ...head, type_id: t.type, linkage: linkage(t.linkage) };
    case 'func_proto':
      return { ...head, ret_type_id: t.returnType, vlen: t.params.length, params: t.params.map((p) => ({ name: anon(p.name), type_id: p.type })) };
    case 'var':
      return { ...head, type_id: t.type, linkage: linkage(t.linkage) };
    case 'datasec':
      return { ...head, size: t.size, vlen: t.vars.length, vars: t.vars.map((v) => ({ type_id: v.type, offset: v.offset, size: v.size })) };
    case 'float':
      return { ...head, size: t.size };
    case 'decl_tag':
      return { ...head, type_id: t.type, component_idx: t.componentIdx };
  }
}
