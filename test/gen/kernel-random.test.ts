// Random typed values through the generated bindings of every fixture, xdp-tools object and gen_*
// object that the kernel loads: each map with BTF key and value types (hash, array, LRU and their
// per-CPU forms) gets random values set through its typed handle, is pinned under a fresh bpffs
// directory (always removed), and every entry `bpftool map dump pinned P -j` prints must equal the
// typed get()/getPerCpu() of the same key, field by field.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateTypes, isBigint, layoutCodec, type GenMapSchema, type Layout } from '../../src/index.js';
import { pinObject, type KernelMap, type KernelObject } from '../../src/kernel/index.js';
import { kernelTest } from '../kernel/harness.js';
import { ensureBpffs } from '../support/bpffs.js';
import { expectedRejections, fixtureName, listFixtures, xdpToolsObjects } from '../support/fixtures.js';
import { iterationSeed, prng, type Rng } from '../support/mutate.js';
import { compare, expected, flatten, hexBytes, parseExact, type DumpEntry, type Tally } from './bpftool-format.js';
import { fixtureBytes, sourceImports, stableJson, type GeneratedModule } from './support.js';

/** hash, array, percpu_hash, percpu_array, lru_hash, lru_percpu_hash: maps whose values are plain data. */
const DATA_MAPS = new Set([1, 2, 5, 6, 9, 10]);
const ARRAYS = new Set([2, 6]);

class Unsupported extends Error {}

function randomInt(rng: Rng, bits: number, signed: boolean, big: boolean): number | bigint {
  let x = 0n;
  for (let i = 0; i < bits; i += 16) x = (x << 16n) | BigInt(rng.int(0x10000));
  x = BigInt.asUintN(bits, x);
  const v = signed ? BigInt.asIntN(bits, x) : x;
  return big ? v : Number(v);
}

/** A random value of `l` that bpftool prints without ambiguity (strings printable and NUL-terminated). */
function randomValue(l: Layout, rng: Rng, mod: GeneratedModule, bits?: number): unknown {
  if (bits !== undefined) {
    if (l.kind === 'bool') return rng.chance(0.5);
    const signed = (l.kind === 'int' || l.kind === 'enum') && l.signed;
    return randomInt(rng, bits, signed, isBigint(l));
  }
  switch (l.kind) {
    case 'int':
      return randomInt(rng, l.size * 8, l.signed, isBigint(l));
    case 'ptr':
      return randomInt(rng, 64, false, true);
    case 'bool':
      return rng.chance(0.5);
    case 'enum': {
      const names = l.name ? Object.values(mod[l.name] as Record<string, number | bigint>) : [];
      if (names.length && rng.chance(0.6)) return rng.pick(names);
      return randomInt(rng, l.size * 8, l.signed, isBigint(l));
    }
    case 'string':
      // Printable ASCII but the backslash: this machine's bpftool (v7.1) prints '\\' as "\n" in JSON.
      return Array.from({ length: rng.int(l.length) }, () => String.fromCharCode(0x20 + rng.int(0x5f))).join('').replaceAll('\\', '/');
    case 'bytes':
      return Uint8Array.from({ length: l.length }, () => rng.int(256));
    case 'array':
      return Array.from({ length: l.length }, () => randomValue(l.element, rng, mod));
    case 'struct':
    case 'union': {
      const o: Record<string, unknown> = {};
      for (const m of l.members) o[m.name] = randomValue(m.layout, rng, mod, m.bits);
      return o;
    }
    default:
      throw new Unsupported(`${l.kind} values (bpftool does not print them)`);
  }
}

function randomKey(m: GenMapSchema, rng: Rng, mod: GeneratedModule, maxEntries: number): unknown {
  if (ARRAYS.has(m.type)) return rng.int(maxEntries);
  return randomValue(m.key!, rng, mod);
}

kernelTest('random typed values through the bindings of every loadable object equal bpftool formatted JSON', async (sys, t) => {
  const bpffs = ensureBpffs();
  assert.ok(bpffs.ok, bpffs.reason);
  const objects: [string, Uint8Array][] = [
    ...listFixtures()
      .filter((f) => !(fixtureName(f) in expectedRejections))
      .map((f) => [path.basename(f), new Uint8Array(readFileSync(f))] as [string, Uint8Array]),
    ...xdpToolsObjects().map((f) => [path.basename(f), new Uint8Array(readFileSync(f))] as [string, Uint8Array]),
    ['gen_types.o', fixtureBytes('gen_types')],
  ];
  const tmp = path.join(tmpdir(), `bpfkit-gen-random-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  writeFileSync(path.join(tmp, 'package.json'), '{"type":"module"}\n');
  const root = `/sys/fs/bpf/bpfkit-gen-random-${process.pid}-${Date.now()}`;
  mkdirSync(root);
  const tally: Tally = { fields: 0, mismatches: [] };
  const skipped: string[] = [];
  let maps = 0;
  let entries = 0;
  try {
    for (const [i, [name, bytes]] of objects.entries()) {
      const stem = name.replace(/\.o$/, '').replace(/[^A-Za-z0-9_]/g, '_');
      const file = path.join(tmp, `${stem}.ts`);
      writeFileSync(file, generateTypes(bytes, { object: name, ...sourceImports }));
      const mod = (await import(pathToFileURL(file).href)) as GeneratedModule;
      const dir = `${root}/${stem}`;
      mkdirSync(dir);
      const h = await mod.open(bytes, { backend: 'kernel' });
      try {
        // Maps only (programs are another test's business); by-name pins go under our directory.
        h.load({ sys, programs: [], pinPath: dir });
        const rng = prng(iterationSeed(0x6e6e_7e57, i));
        for (const m of mod.schema.maps) {
          if (!DATA_MAPS.has(m.type)) continue;
          if (!m.key || !m.value) {
            skipped.push(`${name}:${m.name} (no BTF key/value)`);
            continue;
          }
          const typedMap = h.maps[m.name]!;
          const keys: unknown[] = [];
          try {
            for (let n = 0; n < Math.min(3, typedMap.maxEntries); n++) {
              const key = randomKey(m, rng, mod, typedMap.maxEntries);
              keys.push(key);
              if (typedMap.perCpu) typedMap.setPerCpu(key, Array.from({ length: typedMap.cpus }, () => randomValue(m.value!, rng, mod)));
              else typedMap.set(key, randomValue(m.value, rng, mod));
            }
          } catch (err) {
            if (!(err instanceof Unsupported)) throw err;
            skipped.push(`${name}:${m.name} (${err.message})`);
            continue;
          }
          const pin = `${dir}/${m.name}`;
          const report = (h.object as KernelObject).report;
          if (!report.pinned.has(m.name)) pinObject((h.rawMap(m.name) as KernelMap).fd, pin);
          const at = report.pinned.get(m.name) ?? pin;
          // A large array dumps every slot: look up the keys we set instead (bpftool map lookup).
          const bpftool = (...args: string[]) => parseExact(execFileSync('bpftool', ['map', ...args, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
          const keyCodec = layoutCodec<unknown>(m.key, true);
          const dump =
            ARRAYS.has(m.type) && typedMap.maxEntries > 64
              ? keys.map((k) => bpftool('lookup', 'pinned', at, 'key', 'hex', ...Array.from(keyCodec.encode(k), (b) => b.toString(16).padStart(2, '0'))) as DumpEntry)
              : (bpftool('dump', 'pinned', at) as DumpEntry[]);
          maps++;
          for (const e of dump) {
            const key = keyCodec.decode(hexBytes(e.key));
            const where = `${name}:${m.name}[${stableJson(key)}]`;
            assert.ok(e.formatted, `${where}: bpftool printed no formatted value (map created without BTF?)`);
            compare(expected(m.key, key, mod), flatten(e.formatted.key), `${where}.key`, tally);
            if (typedMap.perCpu) {
              const vs = typedMap.getPerCpu(key)!;
              e.formatted.values!.forEach((x) => compare(expected(m.value!, vs[x.cpu], mod), flatten(x.value), `${where}.cpu${x.cpu}`, tally));
            } else {
              compare(expected(m.value, typedMap.get(key), mod), flatten(e.formatted.value), `${where}.value`, tally);
            }
            entries++;
          }
        }
      } finally {
        h.close();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
  t.diagnostic(`${objects.length} objects, ${maps} maps, ${entries} entries: ${tally.fields} fields compared with bpftool's formatted JSON, ${tally.mismatches.length} mismatches; skipped ${skipped.length}: ${skipped.join('; ')}`);
  assert.deepEqual(tally.mismatches, []);
  assert.ok(maps >= 10 && tally.fields > 500, `${maps} maps, ${tally.fields} fields`);
});
