// Hand-assembled BTF for every kind, both byte orders: parse, lookups, sizes, format, encode, errors.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  BtfBuilder,
  BtfEncodeError,
  BtfError,
  BtfNotFoundError,
  BtfUnsizedTypeError,
  encodeBtf,
  parseBtf,
  type Btf,
  type BtfType,
} from '../../src/btf/index.js';
import { K, RawBtf } from './raw-btf.js';

/** One type of every kind, plus declarator shapes format() must get right. */
function allKinds(): RawBtf {
  const r = new RawBtf();
  const enc = (signed: number, off: number, bits: number): number => ((signed << 24) | (off << 16) | bits) >>> 0;
  r.type('int', K.INT, 0, false, 4, enc(1, 0, 32)); // 1
  r.type('_Bool', K.INT, 0, false, 1, enc(4, 0, 8)); // 2
  r.type('', K.PTR, 0, false, 1); // 3 int *
  r.type('', K.ARRAY, 0, false, 0, 1, 1, 4); // 4 int[4]
  r.type('pt', K.STRUCT, 2, false, 8, r.s('x'), 1, 0, r.s('y'), 1, 32); // 5
  r.type('bf', K.UNION, 2, true, 4, r.s('a'), 1, (3 << 24) | 0, r.s('b'), 1, (5 << 24) | 3); // 6
  r.type('sign', K.ENUM, 2, true, 4, r.s('A'), -1, r.s('B'), 7); // 7
  r.type('later', K.FWD, 0, true, 0); // 8 union later
  r.type('myint', K.TYPEDEF, 0, false, 1); // 9
  r.type('', K.VOLATILE, 0, false, 9); // 10
  r.type('', K.CONST, 0, false, 10); // 11
  r.type('', K.RESTRICT, 0, false, 3); // 12
  r.type('', K.FUNC_PROTO, 2, false, 1, r.s('ctx'), 3, 0, 0); // 13 int (int *ctx, ...)
  r.type('f', K.FUNC, 1, false, 13); // 14 global
  r.type('v', K.VAR, 0, false, 5, 1); // 15 global allocated
  r.type('.data', K.DATASEC, 1, false, 8, 15, 0, 8); // 16
  r.type('double', K.FLOAT, 0, false, 8); // 17
  r.type('tag', K.DECL_TAG, 0, false, 5, 1); // 18 on member 1 of pt
  r.type('user', K.TYPE_TAG, 0, false, 1); // 19
  r.type('big', K.ENUM64, 2, false, 8, r.s('BIG'), 0xffffffff, 0xffffffff, r.s('SMALL'), 0, 1); // 20
  r.type('sbig', K.ENUM64, 1, true, 8, r.s('NEG'), 0xfffffffe, 0xffffffff); // 21
  r.type('', K.PTR, 0, false, 13); // 22 int (*)(int *ctx, ...)
  r.type('', K.ARRAY, 0, false, 0, 22, 1, 2); // 23 array of 2 function pointers
  r.type('', K.PTR, 0, false, 4); // 24 int (*)[4]
  r.type('char', K.INT, 0, false, 1, enc(2, 0, 8)); // 25
  r.type('', K.CONST, 0, false, 3); // 26 int * const
  r.type('', K.PTR, 0, false, 19); // 27
  r.type('attr', K.DECL_TAG, 0, true, 14, -1); // 28 kind_flag: plain attribute
  return r;
}

for (const le of [true, false]) {
  describe(`hand-built BTF, ${le ? 'little' : 'big'}-endian`, () => {
    const bytes = allKinds().bytes(le);
    const btf = parseBtf(bytes);

    it('decodes the header', () => {
      assert.equal(btf.littleEndian, le);
      assert.equal(btf.header.version, 1);
      assert.equal(btf.header.hdrLen, 24);
      assert.equal(btf.types.length, 29);
      assert.equal(btf.typeById(0).kind, 'void');
    });

    it('decodes every kind field by field', () => {
      const t = (id: number): BtfType => btf.typeById(id);
      assert.deepEqual(t(1), { kind: 'int', id: 1, name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
      assert.deepEqual(t(2), { kind: 'int', id: 2, name: '_Bool', size: 1, signed: false, char: false, bool: true, bitOffset: 0, bits: 8 });
      assert.deepEqual(t(3), { kind: 'ptr', id: 3, name: '', type: 1 });
      assert.deepEqual(t(4), { kind: 'array', id: 4, name: '', type: 1, indexType: 1, nelems: 4 });
      assert.deepEqual(t(5), {
        kind: 'struct', id: 5, name: 'pt', size: 8, kindFlag: false,
        members: [{ name: 'x', type: 1, bitOffset: 0, bitfieldSize: 0 }, { name: 'y', type: 1, bitOffset: 32, bitfieldSize: 0 }],
      });
      assert.deepEqual(t(6), {
        kind: 'union', id: 6, name: 'bf', size: 4, kindFlag: true,
        members: [{ name: 'a', type: 1, bitOffset: 0, bitfieldSize: 3 }, { name: 'b', type: 1, bitOffset: 3, bitfieldSize: 5 }],
      });
      assert.deepEqual(t(7), { kind: 'enum', id: 7, name: 'sign', size: 4, signed: true, values: [{ name: 'A', value: -1 }, { name: 'B', value: 7 }] });
      assert.deepEqual(t(8), { kind: 'fwd', id: 8, name: 'later', fwdKind: 'union' });
      assert.deepEqual(t(9), { kind: 'typedef', id: 9, name: 'myint', type: 1 });
      assert.deepEqual(t(10), { kind: 'volatile', id: 10, name: '', type: 9 });
      assert.deepEqual(t(11), { kind: 'const', id: 11, name: '', type: 10 });
      assert.deepEqual(t(12), { kind: 'restrict', id: 12, name: '', type: 3 });
      assert.deepEqual(t(13), { kind: 'func_proto', id: 13, name: '', returnType: 1, params: [{ name: 'ctx', type: 3 }, { name: '', type: 0 }] });
      assert.deepEqual(t(14), { kind: 'func', id: 14, name: 'f', type: 13, linkage: 'global' });
      assert.deepEqual(t(15), { kind: 'var', id: 15, name: 'v', type: 5, linkage: 'global' });
      assert.deepEqual(t(16), { kind: 'datasec', id: 16, name: '.data', size: 8, vars: [{ type: 15, offset: 0, size: 8 }] });
      assert.deepEqual(t(17), { kind: 'float', id: 17, name: 'double', size: 8 });
      assert.deepEqual(t(18), { kind: 'decl_tag', id: 18, name: 'tag', type: 5, componentIdx: 1, attribute: false });
      assert.deepEqual(t(19), { kind: 'type_tag', id: 19, name: 'user', type: 1, attribute: false });
      assert.deepEqual(t(20), {
        kind: 'enum64', id: 20, name: 'big', size: 8, signed: false,
        values: [{ name: 'BIG', value: 0xffffffffffffffffn }, { name: 'SMALL', value: 0x100000000n }],
      });
      assert.deepEqual(t(21), { kind: 'enum64', id: 21, name: 'sbig', size: 8, signed: true, values: [{ name: 'NEG', value: -2n }] });
      assert.deepEqual(t(25), { kind: 'int', id: 25, name: 'char', size: 1, signed: false, char: true, bool: false, bitOffset: 0, bits: 8 });
      assert.deepEqual(t(28), { kind: 'decl_tag', id: 28, name: 'attr', type: 14, componentIdx: -1, attribute: true });
    });

    it('formats C-like type names', () => {
      const cases: Array<[number, string]> = [
        [0, 'void'], [1, 'int'], [3, 'int *'], [4, 'int[4]'], [5, 'struct pt'], [6, 'union bf'], [7, 'enum sign'],
        [8, 'union later'], [9, 'myint'], [10, 'volatile myint'], [11, 'const volatile myint'], [12, 'int * restrict'],
        [13, 'int (int *ctx, ...)'], [14, 'int f(int *ctx, ...)'], [15, 'struct pt v'], [16, 'SEC(".data")'], [17, 'double'],
        [19, '__attribute__((btf_type_tag("user"))) int'], [20, 'enum big'], [22, 'int (*)(int *ctx, ...)'],
        [23, 'int (*[2])(int *ctx, ...)'], [24, 'int (*)[4]'], [26, 'int * const'], [27, '__attribute__((btf_type_tag("user"))) int *'],
      ];
      for (const [id, want] of cases) assert.equal(btf.format(id), want, `type ${id}`);
      assert.equal(btf.format(22, 'cb'), 'int (*cb)(int *ctx, ...)');
      assert.equal(btf.format(4, 'a'), 'int a[4]');
    });

    it('resolves sizes through typedefs, qualifiers, tags and arrays', () => {
      const sizes: Array<[number, number]> = [
        [1, 4], [2, 1], [3, 8], [4, 16], [5, 8], [6, 4], [7, 4], [9, 4], [10, 4], [11, 4], [12, 8], [15, 8], [16, 8], [17, 8],
        [19, 4], [20, 8], [22, 8], [23, 16], [24, 8], [26, 8],
      ];
      for (const [id, want] of sizes) assert.equal(btf.resolveSize(id), want, `type ${id}`);
      for (const id of [0, 8, 13, 14, 18]) assert.throws(() => btf.resolveSize(id), BtfUnsizedTypeError, `type ${id}`);
      assert.throws(() => btf.resolveSize(9999), BtfNotFoundError);
    });

    it('skips qualifiers and typedefs, looks up by name', () => {
      assert.equal(btf.skipQualifiers(11).id, 9);
      assert.equal(btf.skipTypedefs(11).id, 1);
      assert.equal(btf.skipQualifiers(19).id, 1);
      assert.equal(btf.typeByName('pt', 'struct').size, 8);
      assert.equal(btf.typeByName('myint').id, 9);
      assert.deepEqual(btf.typesByName('int').map((t) => t.id), [1]);
      assert.deepEqual(btf.typesByName('nope'), []);
      assert.throws(() => btf.typeByName('pt', 'union'), (e) => e instanceof BtfNotFoundError && e.code === 'ERR_BTF_NOT_FOUND');
      assert.throws(() => btf.typeById(29), BtfNotFoundError);
      assert.equal(btf.stringAt(btf.strings.length - 1), '');
      assert.throws(() => btf.stringAt(btf.strings.length), BtfError);
    });

    it('re-encodes byte for byte', () => {
      assert.deepEqual(btf.encode(), bytes);
      const fresh = parseBtf(encodeBtf(btf.types, { littleEndian: le }));
      assert.deepEqual(fresh.types, btf.types, 'a fresh string table encodes the same types');
    });
  });
}

describe('BtfBuilder', () => {
  it('copies, replaces and adds types, and the result parses back', () => {
    const btf = parseBtf(allKinds().bytes());
    const b = BtfBuilder.from(btf);
    const sec = btf.typeByName('.data', 'datasec');
    b.replace(sec.id, { ...sec, size: 64, vars: [{ ...sec.vars[0]!, offset: 8 }] });
    const id = b.add({ kind: 'struct', name: 'added', size: 4, kindFlag: false, members: [{ name: 'z', type: 1, bitOffset: 0, bitfieldSize: 0 }] });
    assert.equal(id, 29);
    const out = b.build();
    assert.deepEqual(out.typeById(sec.id), { ...sec, size: 64, vars: [{ type: 15, offset: 8, size: 8 }] });
    assert.equal(out.format(id), 'struct added');
    assert.equal(out.typeById(id).name, 'added');
    // The original string table is kept as a prefix: old offsets stay valid.
    assert.deepEqual(out.strings.bytes.subarray(0, btf.strings.length), btf.strings.bytes);
    // Unchanged types are identical.
    for (let i = 1; i < btf.types.length; i++) if (i !== sec.id) assert.deepEqual(out.typeById(i), btf.typeById(i));
  });

  it('rejects what cannot be encoded', () => {
    const b = new BtfBuilder();
    const int = b.add({ kind: 'int', name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 300 });
    assert.throws(() => b.encode(), (e) => e instanceof BtfEncodeError && e.typeId === int && /out of range/.test(e.message));
    b.replace(int, { kind: 'int', name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
    b.add({ kind: 'struct', name: 's', size: 4, kindFlag: false, members: [{ name: 'a', type: int, bitOffset: 0, bitfieldSize: 3 }] });
    assert.throws(() => b.encode(), /no kind_flag/);
    assert.throws(() => b.replace(0, { kind: 'ptr', name: '', type: 1 }), BtfEncodeError);
    assert.throws(() => encodeBtf([{ kind: 'ptr', id: 0, name: '', type: 0 }]), /type 0 must be void/);
  });
});

/** Asserts `fn` throws a BtfError of code ERR_BTF_MALFORMED whose message matches `re`. */
function malformed(fn: () => unknown, re: RegExp, offset?: number): BtfError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof BtfError, `expected BtfError, got ${String(caught)}`);
  assert.equal(caught.code, 'ERR_BTF_MALFORMED');
  assert.equal(caught.section, '.BTF');
  assert.match(caught.message, re);
  if (offset !== undefined) assert.equal(caught.offset, offset, caught.message);
  return caught;
}

describe('hostile .BTF', () => {
  const ok = (): RawBtf => {
    const r = new RawBtf();
    r.type('int', K.INT, 0, false, 4, 0x01000020);
    return r;
  };

  it('rejects bad headers', () => {
    malformed(() => parseBtf(new Uint8Array(0)), /^\.BTF: at offset 0x0: truncated header: 0 bytes, need 24$/, 0);
    malformed(() => parseBtf(ok().bytes().subarray(0, 23)), /truncated header/);
    const bad = ok().bytes();
    bad[0] = 0x12;
    malformed(() => parseBtf(bad), /bad magic/, 0);
    const v2 = ok().bytes();
    v2[2] = 2;
    malformed(() => parseBtf(v2), /unsupported version 2/, 2);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.hdrLen = 8))), /header length 8 is shorter/, 4);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.hdrLen = 0xffffffff))), /header length 4294967295 exceeds/, 4);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.typeLen = 0xfffffff0))), /type section .* runs past the end/, 8);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.strLen += 1))), /string section .* runs past the end/, 16);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.strOff = 0))), /overlap/);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.typeOff = 2))), /not 4-byte aligned/);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.strLen = 0))), /empty string section/);
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.strLen -= 1))), /not NUL-terminated/);
    malformed(() => parseBtf(ok().bytes(true, (h) => ((h.strOff += 1), (h.strLen -= 1)))), /does not start with the empty string/);
  });

  it('rejects truncated and inconsistent type records', () => {
    malformed(() => parseBtf(ok().bytes(true, (h) => (h.typeLen = 8))), /truncated type record: 8 bytes left, need 12/);
    const big = new RawBtf();
    big.type('s', K.STRUCT, 0xffff, false, 4);
    const e = malformed(() => parseBtf(big.bytes()), /struct needs 786420 more bytes \(vlen 65535\) but only 0 remain/, 24);
    assert.equal(e.typeId, 1);
    const kinds: Array<[(r: RawBtf) => void, RegExp]> = [
      [(r) => r.type('x', 25, 0, false, 0), /unknown kind 25/],
      [(r) => r.type('x', 0, 0, false, 0), /unknown kind 0/],
      [(r) => r.records.push([9999, 0x01000000, 4, 32]), /name offset 9999 is outside the string section/],
      [(r) => r.type('p', K.PTR, 3, false, 1), /ptr must have vlen 0, has 3/],
      [(r) => r.type('', K.PTR, 0, true, 1), /ptr must not have kind_flag/],
      [(r) => r.type('f', K.FUNC, 7, false, 1), /unknown func linkage 7/],
      [(r) => r.type('v', K.VAR, 0, false, 1, 9), /unknown var linkage 9/],
      [(r) => r.type('i', K.INT, 0, false, 4, 0x0000ff20), /reserved bits/],
      [(r) => r.type('w', K.FWD, 0, false, 3), /fwd must have size\/type 0/],
      [(r) => r.records.push([0, 0x02ff0000, 1]), /unused info bits/],
      [(r) => r.type('s', K.STRUCT, 1, false, 4, 9999, 1, 0), /member 0 name offset 9999/],
    ];
    for (const [add, re] of kinds) {
      const r = ok();
      add(r);
      malformed(() => parseBtf(r.bytes()), re);
    }
  });

  it('names the dangling reference, type and offset', () => {
    const r = ok();
    r.type('s', K.STRUCT, 1, false, 4, r.s('m'), 9999, 0);
    const bytes = r.bytes();
    malformed(() => parseBtf(bytes), /^\.BTF: type 2 at offset 0x28: member 0 references type 9999 \(only 2 types\)$/, 0x28);
    const refs: Array<[(r: RawBtf) => void, RegExp]> = [
      [(x) => x.type('', K.PTR, 0, false, 3), /type references type 3/],
      [(x) => x.type('', K.ARRAY, 0, false, 0, 1, 77, 1), /index type references type 77/],
      [(x) => x.type('', K.FUNC_PROTO, 1, false, 5, 0, 1), /return type references type 5/],
      [(x) => x.type('', K.FUNC_PROTO, 1, false, 1, 0, 6), /param 0 references type 6/],
      [(x) => x.type('.d', K.DATASEC, 1, false, 4, 42, 0, 4), /var 0 references type 42/],
    ];
    for (const [add, re] of refs) {
      const x = ok();
      add(x);
      malformed(() => parseBtf(x.bytes()), re);
    }
  });

  it('detects reference cycles in resolveSize, format and skipTypedefs', () => {
    const r = ok();
    r.type('A', K.TYPEDEF, 0, false, 3); // 2 -> 3
    r.type('B', K.TYPEDEF, 0, false, 2); // 3 -> 2
    r.type('', K.ARRAY, 0, false, 0, 4, 1, 2); // 4: array of itself
    r.type('', K.CONST, 0, false, 5); // 5: const of itself
    const btf = parseBtf(r.bytes());
    malformed(() => btf.resolveSize(2), /reference cycle: 2 \(typedef A\) -> 3 \(typedef B\) -> 2 \(typedef A\)/);
    assert.equal(btf.format(3), 'B', 'a typedef prints as its name, never expanded');
    malformed(() => btf.format(5), /reference cycle: 5 \(const\) -> 5/);
    malformed(() => btf.skipTypedefs(2), /reference cycle/);
    malformed(() => btf.resolveSize(4), /reference cycle: 4 \(array\) -> 4/);
    malformed(() => btf.format(4), /reference cycle/);
    malformed(() => btf.skipQualifiers(5), /reference cycle/);
  });

  it('bounds format work and sizes', () => {
    // 30 protos, each with 10 params pointing at the next: 10^30 paths if walked naively.
    const r = ok();
    const n = 30;
    for (let i = 0; i < n; i++) {
      const ptrToNext = 5 + 2 * i; // ptr id of the next pair
      const params = Array.from({ length: 10 }, () => [0, i === n - 1 ? 1 : ptrToNext]).flat();
      r.type('', K.FUNC_PROTO, 10, false, 1, ...params); // id 2+2i
      r.type('', K.PTR, 0, false, 2 + 2 * i); // id 3+2i
    }
    const btf = parseBtf(r.bytes());
    malformed(() => btf.format(2), /too complex to format/);
    // 100 nested protos through single params: bounded depth, no stack overflow.
    const d = ok();
    for (let i = 0; i < 100; i++) {
      d.type('', K.FUNC_PROTO, 1, false, 1, 0, i === 99 ? 1 : 5 + 2 * i);
      d.type('', K.PTR, 0, false, 2 + 2 * i);
    }
    malformed(() => parseBtf(d.bytes()).format(2), /nesting deeper than 64/);
    const o = ok();
    o.type('', K.ARRAY, 0, false, 0, 1, 1, 0xffffffff);
    o.type('e', K.STRUCT, 0, false, 0);
    o.type('', K.ARRAY, 0, false, 0, 3, 1, 0xffffffff);
    o.type('', K.ARRAY, 0, false, 0, 4, 1, 0xffffffff);
    const ob: Btf = parseBtf(o.bytes());
    malformed(() => ob.resolveSize(2), /size overflows 32 bits/);
    assert.equal(ob.resolveSize(5), 0, 'huge arrays of an empty struct are empty');
  });
});
