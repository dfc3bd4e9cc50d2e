// clang-16 output against the oracles: every type vs bpftool, line info vs llvm-objdump and the source, CO-RE records.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { BtfBuilder, parseBtf, parseBtfExt, type Btf, type BtfExt } from '../../src/btf/index.js';
import { bpftoolDump, compile, tempDir, toBpftool, type Compiled } from './tools.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const TYPES_C = join(fixtures, 'types.c');
const CORE_C = join(fixtures, 'core.c');

describe('clang-16 output', () => {
  const tmp = tempDir();
  let types: Compiled;
  let typesBe: Compiled;
  let core: Compiled;
  let btf: Btf;
  let ext: BtfExt;
  before(() => {
    types = compile(TYPES_C, tmp.dir, 'bpfel');
    typesBe = compile(TYPES_C, tmp.dir, 'bpfeb');
    core = compile(CORE_C, tmp.dir);
    btf = parseBtf(types.btf);
    ext = parseBtfExt(types.ext, btf);
  });
  after(() => tmp[Symbol.dispose]());

  it('parses every type exactly as bpftool dumps it', () => {
    for (const obj of [types, core]) {
      const mine = parseBtf(obj.btf);
      const theirs = bpftoolDump(obj.obj);
      assert.equal(mine.types.length - 1, theirs.length);
      for (const want of theirs) assert.deepStrictEqual(toBpftool(mine.typeById(want.id)), want);
    }
  });

  it('covers the kinds the fixture was written for', () => {
    const kinds = new Set(btf.types.map((t) => t.kind));
    for (const k of ['int', 'ptr', 'array', 'struct', 'union', 'enum', 'enum64', 'typedef', 'volatile', 'const', 'func', 'func_proto', 'var', 'datasec', 'float', 'decl_tag', 'type_tag'] as const)
      assert.ok(kinds.has(k), `fixture lacks ${k}`);
    const bits = btf.typeByName('bits', 'struct');
    assert.equal(bits.kindFlag, true);
    assert.deepEqual(bits.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize]), [['a', 0, 3], ['b', 3, 5], ['c', 8, 40], ['d', 48, 0]]);
    assert.deepEqual(btf.typeByName('big', 'enum64').values.map((v) => v.value), [0x100000000n, 0xffffffffffffffffn]);
    assert.deepEqual(btf.typeByName('color', 'enum').values.map((v) => v.value), [0, 5, -1]);
    const tags = btf.types.filter((t) => t.kind === 'decl_tag').map((t) => `${t.name}@${btf.typeById(t.type).name}:${t.componentIdx}`);
    assert.deepEqual(tags.sort(), ['arg@helper:0', 'cnt@counter:-1', 'rec@datarec:-1']);
    assert.deepEqual(btf.types.filter((t) => t.kind === 'datasec').map((t) => t.name), ['.bss', '.data', '.data.stats', '.rodata']);
  });

  it('formats and sizes the fixture types', () => {
    const member = (s: string, m: string): number => {
      const found = btf.typeByName(s, 'struct').members.find((x) => x.name === m);
      assert.ok(found, `${s}.${m}`);
      return found.type;
    };
    assert.equal(btf.format(member('withptr', 'cb')), 'cb_t');
    assert.equal(btf.format(btf.skipTypedefs(member('withptr', 'cb')).id), 'int (*)(void *, int)');
    assert.equal(btf.format(member('withptr', 'cvp')), 'const volatile int *');
    assert.equal(btf.format(member('withptr', 'arr')), 'int[4][2]');
    assert.equal(btf.format(member('withptr', 'next'), 'next'), 'struct datarec *next');
    assert.equal(btf.format(btf.typeByName('helper', 'func').id), 'int helper(int a, struct bits *b)');
    assert.equal(btf.format(btf.typeByName('stats', 'var').id), 'struct datarec stats[4]');
    assert.equal(btf.resolveSize(btf.typeByName('withptr').id), 96);
    assert.equal(btf.resolveSize(btf.typeByName('stats', 'var').id), 64);
    assert.equal(btf.resolveSize(member('withptr', 'arr')), 32);
    assert.equal(btf.resolveSize(btf.typeByName('rodata_v', 'var').id), 4);
  });

  it('big-endian output parses to the same types and round-trips', () => {
    const be = parseBtf(typesBe.btf);
    assert.equal(be.littleEndian, false);
    assert.deepEqual(be.types, btf.types);
    assert.deepEqual(be.encode(), typesBe.btf);
    const beExt = parseBtfExt(typesBe.ext, be);
    assert.deepEqual([...beExt.lineInfos], [...ext.lineInfos]);
    assert.deepEqual([...beExt.funcInfos], [...ext.funcInfos]);
  });

  it('round-trips parse -> encode byte for byte', () => {
    for (const obj of [types, core]) assert.deepEqual(parseBtf(obj.btf).encode(), obj.btf);
  });

  it('fixes up DATASEC sizes and VAR offsets with the builder; bpftool reads the result', () => {
    const b = BtfBuilder.from(btf);
    const secSizes: Record<string, number> = {};
    for (const t of btf.types) {
      if (t.kind !== 'datasec') continue;
      const size = Math.max(...t.vars.map((v) => v.offset + v.size));
      secSizes[t.name] = size;
      b.replace(t.id, { ...t, size, vars: t.vars.map((v) => ({ ...v, offset: v.offset })) });
    }
    const out = b.encode();
    const file = join(tmp.dir, 'fixed.btf');
    writeFileSync(file, out);
    const theirs = bpftoolDump(file);
    const mine = parseBtf(out);
    assert.equal(theirs.length, mine.types.length - 1);
    for (const want of theirs) assert.deepStrictEqual(toBpftool(mine.typeById(want.id)), want);
    assert.deepEqual(secSizes, { '.bss': 96, '.data': 4, '.data.stats': 64, '.rodata': 4 });
    for (const [name, size] of Object.entries(secSizes)) assert.equal(mine.typeByName(name, 'datasec').size, size);
  });

  it('func info names the functions of each section', () => {
    assert.deepEqual(
      [...ext.funcInfos].map(([sec, fs]) => [sec, fs.map((f) => `${f.insnOff}:${btf.typeById(f.typeId).name}`)]),
      [['.text', ['0:helper']], ['xdp', ['0:prog']]],
    );
    assert.deepEqual(ext.recordSizes, { funcInfo: 8, lineInfo: 16, coreRelo: 0 });
  });

  it('line info matches the source text and llvm-objdump -l', () => {
    const src = readFileSync(TYPES_C, 'utf8').split('\n');
    let records = 0;
    for (const [, lines] of ext.lineInfos) {
      for (const l of lines) {
        records++;
        assert.equal(l.fileName, TYPES_C);
        assert.equal(l.line, src[l.lineNumber - 1], `line ${l.lineNumber}`);
        assert.ok(l.column >= 1 && l.column <= l.line.length + 1, `column ${l.column} of line ${l.lineNumber}`);
        assert.equal(l.insnOff % 8, 0);
      }
    }
    assert.ok(records >= 10, `only ${records} line records`);
    // Known lines of the fixture.
    const at = (sec: string, insn: number): string => {
      const l = ext.lineAt(sec, insn * 8);
      return `${l?.lineNumber}:${l?.line.trim()}`;
    };
    assert.equal(at('xdp', 0), '20:int r = helper(counter, &wp.bits);');
    assert.equal(at('.text', 0), '18:__attribute__((noinline)) int helper(int a __tag("arg"), struct bits *b) { return a + b->a + rodata_v; }');
    // Where llvm-objdump prints a `; file:line` marker (from DWARF), BTF line info must agree.
    const dump = execFileSync('llvm-objdump-16', ['-d', '-l', '--no-show-raw-insn', types.obj], { encoding: 'utf8' });
    let section = '';
    let pending: { file: string; line: number } | undefined;
    let checked = 0;
    for (const text of dump.split('\n')) {
      const sec = /^Disassembly of section (.+):$/.exec(text);
      if (sec) section = sec[1] as string;
      const marker = /^; (\S+\.c):(\d+)$/.exec(text);
      if (marker) pending = { file: marker[1] as string, line: Number(marker[2]) };
      const insn = /^\s+(\d+):\t/.exec(text);
      if (insn && pending) {
        const l = ext.lineAt(section, Number(insn[1]) * 8);
        assert.equal(l?.lineNumber, pending.line, `${section} insn ${insn[1]}`);
        assert.equal(l?.fileName, pending.file);
        pending = undefined;
        checked++;
      }
    }
    assert.ok(checked >= 5, `only ${checked} objdump markers checked`);
  });

  it('CO-RE relocations keep offset, root type, access string and kind', () => {
    const cbtf = parseBtf(core.btf);
    const cext = parseBtfExt(core.ext, cbtf);
    assert.equal(cext.header.hdrLen, 32);
    assert.deepEqual([...cext.coreRelos.keys()], ['kprobe/core']);
    const got = (cext.coreRelos.get('kprobe/core') ?? []).map((r) => `${cbtf.format(r.typeId)} ${r.accessString} ${r.kind}`);
    assert.deepEqual(got, [
      'struct task 0:0 BPF_CORE_FIELD_BYTE_OFFSET',
      'struct task 0:1:1 BPF_CORE_FIELD_BYTE_OFFSET',
      'struct task 0:1:0 BPF_CORE_FIELD_EXISTS',
      'struct task 0:2 BPF_CORE_FIELD_BYTE_SIZE',
      'struct task 0:2 BPF_CORE_FIELD_LSHIFT_U64',
      'struct task 0 BPF_CORE_TYPE_SIZE',
      'struct task 0 BPF_CORE_TYPE_EXISTS',
      'enum state 1 BPF_CORE_ENUMVAL_VALUE',
      'struct task 0 BPF_CORE_TYPE_ID_TARGET',
    ]);
    const offs = (cext.coreRelos.get('kprobe/core') ?? []).map((r) => r.insnOff);
    assert.deepEqual(offs, [...offs].sort((a, b) => a - b));
    assert.ok(offs.every((o) => o % 8 === 0));
  });
});
