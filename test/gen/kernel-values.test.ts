// Values read through generated bindings equal bpftool's BTF-formatted JSON: gen_types.c is
// loaded into the kernel through its typed handle, its maps pinned under a fresh bpffs directory
// (always removed), seeded with typed set()/setPerCpu() and written by the program itself
// (BPF_PROG_TEST_RUN); every entry bpftool `map dump pinned P -j` prints is compared field by
// field with the typed get()/getPerCpu() of the same key. The userspace backend, given the same
// updates and the same packet, must then hold the same typed values.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { describe } from 'node:test';
import { layoutCodec, sumPerCpu, type BtfValue } from '../../src/index.js';
import { pinObject, type KernelMap, type KernelProgram } from '../../src/kernel/index.js';
import type { UserspaceProgram } from '../../src/runtime/userspace-program.js';
import { kernelTest } from '../kernel/harness.js';
import { ensureBpffs } from '../support/bpffs.js';
import { compare, expected, flatten, hexBytes, parseExact, type DumpEntry, type Tally } from './bpftool-format.js';
import { generatedFixture, stableJson, type AnyHandle } from './support.js';

const packet = new Uint8Array(74).fill(0x5a);

/** The same updates on either backend: typed set()s, then one program run. */
function seed(h: AnyHandle, cpus: number): void {
  const { values, counters, nested } = h.maps;
  values!.set(
    { ifindex: 7, port: 443, proto: 17, pad: 0 },
    {
      packets: 123456789012345678n,
      delta: -9007199254740993n,
      name: 'eth0 rx queue 3',
      mac: Uint8Array.of(0x02, 0x42, 0xac, 0x11, 0x00, 0x02),
      temps: [-1, 0, 32767],
      color: -3,
      wide: 0x100000000n,
      left: 65535,
      right: 1,
      addr: { v6: Uint8Array.from({ length: 16 }, (_, i) => i * 16 + 1) },
      flags: { a: 7, b: 31, c: -8, d: 0xffffffffffn, e: 1 },
      ok: true,
      path: [
        [{ x: 1, y: 2 }, { x: 3, y: 4 }],
        [{ x: 5, y: 6 }, { x: 7, y: 8 }],
      ],
      big: (1n << 127n) | 0xdeadbeefn,
      ptr: 0xffff888012345678n,
    },
  );
  values!.set(
    { ifindex: 1, port: 53, proto: 6, pad: 9 },
    { packets: 0n, delta: 5n, name: '', mac: new Uint8Array(6), temps: [1, 2, 3], color: 77, wide: 1n, left: 0, right: 0, addr: { v4: 0xc0a80001 }, flags: { a: 0, b: 0, c: 7, d: 0n, e: 2 }, ok: false, path: [], big: 0n, ptr: 0n },
  );
  counters!.setPerCpu(
    1,
    Array.from({ length: cpus }, (_, i) => ({ packets: BigInt(i + 1), bytes: BigInt(1000 * i) + 2n ** 60n })),
  );
  nested!.set(1, { kind: 0xffffffff, as_s32: -123456 });
  const p = h.programs.xdp_types;
  const ret = h.backend === 'kernel' ? (p as KernelProgram).testRun({ dataIn: packet }).retval : (p as UserspaceProgram).testRun({ data: packet }).retval;
  assert.equal(ret, 2, `${h.backend}: XDP_PASS`);
}

/** Every map's typed entries, per-CPU ones summed over CPUs (the kernel runs the program on whichever CPU it is on). */
function snapshot(h: AnyHandle): Record<string, [string, string][]> {
  const out: Record<string, [string, string][]> = {};
  for (const [name, m] of Object.entries(h.maps)) {
    const rows = [...m.entriesPerCpu()].map(([k, vs]) => [stableJson(k), stableJson(m.perCpu ? sumPerCpu(vs as BtfValue[]) : vs[0])] as [string, string]);
    out[name] = rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
  return out;
}

describe('typed values equal bpftool formatted JSON (gen_types.c)', () => {
  kernelTest('kernel maps: every entry bpftool dumps equals the typed get()/getPerCpu(), field by field; userspace holds the same typed values', async (sys, t) => {
    const bpffs = ensureBpffs();
    assert.ok(bpffs.ok, bpffs.reason);
    const { mod, bytes } = await generatedFixture('gen_types');
    const dir = `/sys/fs/bpf/bpfkit-gen-${process.pid}-${Date.now()}`;
    const h = await mod.open(bytes, { backend: 'kernel' });
    mkdirSync(dir);
    let kernelState: Record<string, [string, string][]>;
    let cpus: number;
    try {
      h.load({ sys });
      cpus = h.maps.counters!.cpus;
      seed(h, cpus);
      const tally: Tally = { fields: 0, mismatches: [] };
      let entries = 0;
      for (const m of mod.schema.maps) {
        const path = `${dir}/${m.name}`;
        pinObject((h.rawMap(m.name) as KernelMap).fd, path);
        const dump = parseExact(execFileSync('bpftool', ['map', 'dump', 'pinned', path, '-j'], { encoding: 'utf8' })) as DumpEntry[];
        const typedMap = h.maps[m.name]!;
        assert.equal(dump.length, [...typedMap.keys()].length, `${m.name}: entry count`);
        for (const e of dump) {
          assert.ok(m.key && m.value, `${m.name} has BTF key and value`);
          const key = layoutCodec(m.key, true).decode(hexBytes(e.key));
          const where = `${m.name}[${stableJson(key)}]`;
          compare(expected(m.key, key, mod), flatten(e.formatted.key), `${where}.key`, tally);
          if (typedMap.perCpu) {
            const vs = typedMap.getPerCpu(key)!;
            assert.equal(e.formatted.values!.length, vs.length, `${where}: one value per CPU`);
            e.formatted.values!.forEach((x) => compare(expected(m.value!, vs[x.cpu], mod), flatten(x.value), `${where}.cpu${x.cpu}`, tally));
          } else {
            compare(expected(m.value, typedMap.get(key), mod), flatten(e.formatted.value), `${where}.value`, tally);
          }
          entries++;
        }
      }
      t.diagnostic(`${entries} entries of ${mod.schema.maps.length} maps on ${cpus} CPUs: ${tally.fields} fields compared with bpftool's formatted JSON, ${tally.mismatches.length} mismatches`);
      assert.deepEqual(tally.mismatches, []);
      assert.ok(tally.fields > 150, `only ${tally.fields} fields compared`);
      // The program's own entry (struct value written in C) is among them, read back exactly.
      const fromXdp = [...h.maps.values!.entries()].find(([, v]) => (v as { name: string }).name === 'from-xdp');
      assert.ok(fromXdp, 'the entry the program wrote');
      const v = fromXdp[1] as Record<string, unknown>;
      assert.deepEqual([v.delta, v.color, v.wide, v.left, v.right, v.ok], [-BigInt(packet.length), -3, 0x100000000n, 3, 4, true]);
      assert.deepEqual(v.flags, { a: 5, b: 17, c: -3, d: 0xabcdef1234n, e: 2 });
      assert.equal(v.big, (BigInt(packet.length) << 64n) | 5n);
      kernelState = snapshot(h);
    } finally {
      h.close();
      rmSync(dir, { recursive: true, force: true });
    }

    const u = await mod.open(bytes, { backend: 'user' });
    try {
      u.load({ cpus });
      seed(u, cpus);
      assert.deepEqual(snapshot(u), kernelState, 'userspace typed values after the same updates and run');
    } finally {
      u.close();
    }
  });
});
