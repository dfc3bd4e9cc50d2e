// Layouts and codecs against clang: globals initialised in C (bitfields, unions, anonymous members,
// char/byte/signed arrays, 64/128-bit integers, floats, bool, enums) compiled for bpfel and bpfeb
// decode through the generated bindings to the initialiser's values, and re-encode to the same
// bytes; unions and value errors behave as documented; the kernel backend is imported only when
// asked for.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { buildSchema, generateTypes, GenValueError, layoutCodec, loadObject, varOffsets, type Layout } from '../../src/index.js';
import { fixtureBytes, sourceImports, type GeneratedModule } from './support.js';

const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-gen-layout-'));
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');

const source = `
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
enum e8 { E_A = 1, E_B = -2 };
struct bits { unsigned a : 3, b : 13; int c : 5; unsigned long long d : 43; enum e8 e : 4; _Bool f : 1; };
union u { unsigned int w; unsigned short h[2]; unsigned char b[4]; };
struct all {
	char name[12];
	unsigned char raw[3];
	signed char sc[2];
	short s;
	long long ll;
	unsigned long long ull;
	struct bits bits;
	union u u;
	struct { int inner_a; union { short ua; unsigned short ub; }; };
	int arr[2][3];
	_Bool ok;
	double dbl;
	float flt;
	unsigned __int128 big;
};
struct all g = { .name = "hello", .raw = { 1, 2, 255 }, .sc = { -1, 127 }, .s = -300, .ll = -5000000000LL,
	.ull = 0xfedcba9876543210ULL, .bits = { .a = 5, .b = 8000, .c = -11, .d = 0x7abcdef0123ULL, .e = E_B, .f = 1 },
	.u = { .w = 0x11223344 }, .inner_a = -7, .ua = -2, .arr = { { 1, 2, 3 }, { -4, -5, -6 } }, .ok = 1,
	.dbl = 1.5, .flt = -0.25, .big = ((unsigned __int128)0x0102030405060708ULL << 64) | 0x1112131415161718ULL };
int second = -1;
SEC("xdp") int prog(struct xdp_md *ctx) { return g.s + second; }
char LICENSE[] SEC("license") = "GPL";
`;

function compile(target: 'bpfel' | 'bpfeb'): Uint8Array {
  const src = path.join(dir, 'all.c');
  writeFileSync(src, source);
  const out = path.join(dir, `all.${target}.o`);
  execFileSync('clang-16', ['-O2', '-g', '-target', target, '-I/usr/include/x86_64-linux-gnu', '-c', src, '-o', out]);
  return new Uint8Array(execFileSync('cat', [out]));
}

async function importGenerated(name: string, text: string): Promise<GeneratedModule> {
  const file = path.join(dir, `${name}.ts`);
  writeFileSync(file, text);
  return (await import(pathToFileURL(file).href)) as GeneratedModule;
}

function expectedG(le: boolean): unknown {
  return {
    name: 'hello',
    raw: Uint8Array.of(1, 2, 255),
    sc: [-1, 127],
    s: -300,
    ll: -5000000000n,
    ull: 0xfedcba9876543210n,
    bits: { a: 5, b: 8000, c: -11, d: 0x7abcdef0123n, e: -2, f: true },
    u: { w: 0x11223344, h: le ? [0x3344, 0x1122] : [0x1122, 0x3344], b: le ? Uint8Array.of(0x44, 0x33, 0x22, 0x11) : Uint8Array.of(0x11, 0x22, 0x33, 0x44) },
    inner_a: -7,
    ua: -2,
    ub: 65534,
    arr: [
      [1, 2, 3],
      [-4, -5, -6],
    ],
    ok: true,
    dbl: 1.5,
    flt: -0.25,
    big: (0x0102030405060708n << 64n) | 0x1112131415161718n,
  };
}

describe('layouts against clang', () => {
  for (const target of ['bpfel', 'bpfeb'] as const) {
    it(`${target}: .data globals decode to the C initialiser and re-encode to the same bytes`, async () => {
      const bytes = compile(target);
      const le = target === 'bpfel';
      const mod = await importGenerated(`all_${target}`, generateTypes(bytes, { object: `all.${target}.o`, ...sourceImports }));
      const h = await mod.open(bytes, { backend: 'user' });
      assert.deepEqual(h.data!.g, expectedG(le));
      assert.equal(h.data!.second, -1);
      // Re-encoding the decoded value gives clang's bytes back, bit for bit.
      const spec = loadObject(bytes);
      const data = spec.maps.find((m) => m.name === '.data')!.data!;
      for (const v of mod.schema.sections.find((s) => s.section === '.data')!.vars) {
        const codec = layoutCodec(v.layout, le);
        assert.deepEqual(codec.encode(codec.decode(data.subarray(v.offset))), data.subarray(v.offset, v.offset + codec.size), `${target} ${v.name}`);
      }
      // Writing a variable before load then reading it back.
      h.data!.g = { ...(expectedG(le) as object), bits: { a: 2, b: 1, c: 31, d: 1n, e: 1, f: false }, name: 'ünïcode' };
      const g = h.data!.g as { bits: unknown; name: string; ull: bigint };
      assert.deepEqual(g.bits, { a: 2, b: 1, c: -1, d: 1n, e: 1, f: false }, 'c is a signed 5-bit field: 31 reads back as -1');
      assert.equal(g.name, 'ünïcode');
      assert.equal(g.ull, 0xfedcba9876543210n);
    });
  }

  it('unions: decoding fills every member; encoding writes the members given, in order', () => {
    const bytes = compile('bpfel');
    const mod = generateTypes(bytes, { object: 'all.o' });
    assert.match(mod, /export interface U \{\n[^}]*w\?: number;[^}]*h\?: number\[\];[^}]*b\?: Uint8Array;\n\}/);
    const spec = loadObject(bytes);
    const { schema } = buildSchema(spec, 'all.o', 'all', varOffsets(bytes));
    const gLayout = schema.sections.find((x) => x.section === '.data')!.vars.find((v) => v.name === 'g')!.layout as Layout & { kind: 'struct' };
    const u = gLayout.members.find((m) => m.name === 'u')!.layout;
    const c = layoutCodec(u, true);
    assert.deepEqual(c.encode({ h: [1, 2] }), Uint8Array.of(1, 0, 2, 0));
    assert.deepEqual(c.encode({ w: 0xffffffff, b: Uint8Array.of(9) }), Uint8Array.of(9, 0, 0, 0), 'b written after w');
    assert.deepEqual(c.decode(Uint8Array.of(1, 0, 2, 0)), { w: 0x20001, h: [1, 2], b: Uint8Array.of(1, 0, 2, 0) });
    assert.throws(() => c.encode({ h: [1, 2, 3] }), (e: unknown) => e instanceof GenValueError && /h: 3 elements do not fit in \[2\]/.test(e.message));
    assert.throws(() => c.encode({ b: Uint8Array.of(1, 2, 3, 4, 5) }), GenValueError);
    assert.throws(() => c.decode(new Uint8Array(3)), /value is 3 bytes, expected 4/);
    assert.ok(spec.btf);
  });

  it('the generated module imports the kernel backend only for backend "kernel"', async () => {
    const poison = path.join(dir, 'poison.ts');
    writeFileSync(poison, "throw new Error('kernel backend imported');\nexport {};\n");
    const bytes = fixtureBytes('gen_config');
    const mod = await importGenerated('config_poison', generateTypes(bytes, { object: 'gen_config.o', importFrom: sourceImports.importFrom, kernelImportFrom: poison }));
    const h = await mod.open(bytes, { backend: 'user' });
    h.load();
    assert.equal(h.rodata!.drop_all, 0);
    h.close();
    await assert.rejects(mod.open(bytes, { backend: 'kernel' }), /kernel backend imported/);
  });
});
