// Hand-assembled .BTF.ext: record decoding, larger record sizes, both byte orders, and hostile input.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BtfError, parseBtf, parseBtfExt, type Btf } from '../../src/btf/index.js';
import { K, RawBtf, rawBtfExt, type RawExtSub } from './raw-btf.js';

function baseBtf(le: boolean): { btf: Btf; s: (x: string) => number } {
  const r = new RawBtf();
  r.type('int', K.INT, 0, false, 4, 0x01000020); // 1
  r.type('', K.FUNC_PROTO, 0, false, 1); // 2
  r.type('main', K.FUNC, 1, false, 2); // 3
  r.type('pt', K.STRUCT, 1, false, 4, r.s('x'), 1, 0); // 4
  for (const s of ['xdp', 'prog.c', 'int x = 1;', 'return x;', '0:0']) r.s(s);
  return { btf: parseBtf(r.bytes(le)), s: (x) => r.s(x) };
}

function subs(s: (x: string) => number, sizes = { func: 8, line: 16, core: 16 }): { func: RawExtSub; line: RawExtSub; core: RawExtSub } {
  return {
    func: { recSize: sizes.func, sections: [{ nameOff: s('xdp'), records: [[0, 3]] }] },
    line: {
      recSize: sizes.line,
      sections: [{ nameOff: s('xdp'), records: [[0, s('prog.c'), s('int x = 1;'), (12 << 10) | 7], [16, s('prog.c'), s('return x;'), (13 << 10) | 3]] }],
    },
    core: { recSize: sizes.core, sections: [{ nameOff: s('xdp'), records: [[8, 4, s('0:0'), 0], [24, 4, s('0:0'), 9]] }] },
  };
}

for (const le of [true, false]) {
  describe(`.BTF.ext, ${le ? 'little' : 'big'}-endian`, () => {
    const { btf, s } = baseBtf(le);
    const expectRecords = (bytes: Uint8Array, core = true): void => {
      const ext = parseBtfExt(bytes, btf);
      assert.equal(ext.header.littleEndian, le);
      assert.deepEqual([...ext.funcInfos], [['xdp', [{ insnOff: 0, typeId: 3 }]]]);
      assert.deepEqual([...ext.lineInfos], [
        ['xdp', [
          { insnOff: 0, fileName: 'prog.c', line: 'int x = 1;', lineNumber: 12, column: 7 },
          { insnOff: 16, fileName: 'prog.c', line: 'return x;', lineNumber: 13, column: 3 },
        ]],
      ]);
      assert.deepEqual(
        [...ext.coreRelos],
        core ? [['xdp', [{ insnOff: 8, typeId: 4, accessString: '0:0', kind: 'BPF_CORE_FIELD_BYTE_OFFSET' }, { insnOff: 24, typeId: 4, accessString: '0:0', kind: 'BPF_CORE_TYPE_SIZE' }]]] : [],
      );
      assert.equal(ext.lineAt('xdp', 0)?.lineNumber, 12);
      assert.equal(ext.lineAt('xdp', 8)?.lineNumber, 12);
      assert.equal(ext.lineAt('xdp', 16)?.lineNumber, 13);
      assert.equal(ext.lineAt('xdp', 800)?.lineNumber, 13);
      assert.equal(ext.lineAt('tc', 0), undefined);
    };

    it('decodes func info, line info (line >> 10, col & 0x3ff) and CO-RE records', () => {
      expectRecords(rawBtfExt(subs(s), le));
    });

    it('skips the unknown tail of larger records', () => {
      const ext = rawBtfExt(subs(s, { func: 12, line: 24, core: 20 }), le);
      expectRecords(ext);
      assert.deepEqual(parseBtfExt(ext, btf).recordSizes, { funcInfo: 12, lineInfo: 24, coreRelo: 20 });
    });

    it('reads a header without CO-RE fields', () => {
      const { func, line } = subs(s);
      expectRecords(rawBtfExt({ func, line }, le, 24), false);
    });

    it('merges repeated section blocks', () => {
      const sub: RawExtSub = { recSize: 8, sections: [{ nameOff: s('xdp'), records: [[0, 3]] }, { nameOff: s('xdp'), records: [[64, 3]] }] };
      assert.deepEqual(parseBtfExt(rawBtfExt({ func: sub }, le), btf).funcInfos.get('xdp')?.map((f) => f.insnOff), [0, 64]);
    });
  });
}

describe('hostile .BTF.ext', () => {
  const { btf, s } = baseBtf(true);
  const bad = (bytes: Uint8Array, re: RegExp, offset?: number): void => {
    let caught: unknown;
    try {
      parseBtfExt(bytes, btf);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof BtfError, `expected BtfError for ${re}, got ${String(caught)}`);
    assert.equal(caught.code, 'ERR_BTF_MALFORMED');
    assert.equal(caught.section, '.BTF.ext');
    assert.match(caught.message, re);
    assert.match(caught.message, /^\.BTF\.ext: /);
    if (offset !== undefined) assert.equal(caught.offset, offset);
  };
  const good = (): Uint8Array => rawBtfExt(subs(s));
  const patch = (off: number, v: number): Uint8Array => {
    const b = good();
    new DataView(b.buffer).setUint32(off, v, true);
    return b;
  };

  it('rejects bad headers', () => {
    bad(new Uint8Array(3), /truncated header: 3 bytes/, 0);
    bad(patch(0, 0x1234), /bad magic/, 0);
    const v = good();
    v[2] = 9;
    bad(v, /unsupported version 9/, 2);
    bad(patch(4, 16), /header length 16 is shorter than 24/, 4);
    bad(patch(4, 1 << 30), /header length 1073741824 exceeds/, 4);
    bad(patch(12, 0xffffff00), /func info .* runs past the end/, 8);
    bad(good().subarray(0, 40), /runs past the end/);
  });

  it('rejects bad record sizes and counts', () => {
    bad(rawBtfExt({ func: { ...subs(s).func, recSize: 4 } }), /func info record size 4 is smaller than 8/, 32);
    bad(rawBtfExt({ line: { ...subs(s).line, recSize: 18 } }), /line info record size 18 is not a multiple of 4/);
    bad(rawBtfExt({ core: { ...subs(s).core, recSize: 12 } }), /CO-RE relocations record size 12 is smaller than 16/);
    bad(rawBtfExt({ func: { recSize: 8, sections: [{ nameOff: s('xdp'), records: [], numInfo: 0 }] } }), /has no records/);
    bad(rawBtfExt({ func: { recSize: 8, sections: [{ nameOff: s('xdp'), records: [[0, 3]], numInfo: 0xffffffff }] } }), /4294967295 records of 8 bytes exceed the 8 bytes left/);
    // A section header cut short: 4 bytes of a second block.
    const f = rawBtfExt({ func: { recSize: 8, sections: [{ nameOff: s('xdp'), records: [[0, 3]] }] } });
    const longer = new Uint8Array(f.length + 4);
    longer.set(f);
    new DataView(longer.buffer).setUint32(12, 24, true);
    new DataView(longer.buffer).setUint32(16, 24, true);
    new DataView(longer.buffer).setUint32(24, 24, true);
    bad(longer, /truncated section header \(4 bytes left, need 8\)/);
  });

  it('rejects dangling strings, type ids and kinds, naming section and record', () => {
    bad(rawBtfExt({ func: { recSize: 8, sections: [{ nameOff: 99999, records: [[0, 3]] }] } }), /func info section name offset 99999 is outside/);
    bad(rawBtfExt({ func: { recSize: 8, sections: [{ nameOff: s('xdp'), records: [[0, 77]] }] } }), /^\.BTF\.ext: at offset 0x30: section "xdp" record 0: func info references type 77 \(only 4 types\)$/);
    bad(rawBtfExt({ line: { recSize: 16, sections: [{ nameOff: s('xdp'), records: [[0, 5000, 0, 0]] }] } }), /file name offset 5000 is outside/);
    bad(rawBtfExt({ line: { recSize: 16, sections: [{ nameOff: s('xdp'), records: [[0, 0, 5000, 0]] }] } }), /line offset 5000 is outside/);
    bad(rawBtfExt({ core: { recSize: 16, sections: [{ nameOff: s('xdp'), records: [[0, 4, s('0:0'), 99]] }] } }), /unknown CO-RE relocation kind 99/);
    bad(rawBtfExt({ core: { recSize: 16, sections: [{ nameOff: s('xdp'), records: [[0, 4, 7777, 0]] }] } }), /access string offset 7777/);
    bad(rawBtfExt({ core: { recSize: 16, sections: [{ nameOff: s('xdp'), records: [[0, 9, s('0:0'), 0]] }] } }), /CO-RE relocation references type 9/);
  });
});
