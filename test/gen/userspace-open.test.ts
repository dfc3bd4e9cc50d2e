// Every fixture, example and xdp-tools object opens and loads in the userspace runtime through its
// generated bindings: each typed map iterates, each global variable reads, each program is there.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { generateTypes } from '../../src/index.js';
import { listFixtures, repoRoot, xdpToolsObjects } from '../support/fixtures.js';
import { sourceImports, type GeneratedModule } from './support.js';

/** Objects whose programs need more than the defaults to verify in userspace. */
const LOAD_OPTIONS: Readonly<Record<string, object>> = {
  // Its CO-RE access to struct xdp_buff needs the kernel's BTF (verify with kernelBtf); maps alone here.
  'core_kfunc.o': { programs: [] },
};

test('every object opens and loads in userspace through its bindings: maps iterate, globals read, programs listed', async (t) => {
  const files = [
    ...listFixtures(),
    ...readdirSync(path.join(repoRoot, 'examples'))
      .filter((f) => f.endsWith('.o'))
      .map((f) => path.join(repoRoot, 'examples', f)),
    ...xdpToolsObjects(),
  ];
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-gen-user-'));
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  let maps = 0;
  let vars = 0;
  let programs = 0;
  try {
    for (const [i, f] of files.entries()) {
      const name = path.basename(f);
      const bytes = new Uint8Array(readFileSync(f));
      const file = path.join(dir, `m${i}.ts`);
      writeFileSync(file, generateTypes(bytes, { object: name, ...sourceImports }));
      const mod = (await import(pathToFileURL(file).href)) as GeneratedModule;
      const h = await mod.open(bytes, { backend: 'user' });
      try {
        h.load({ cpus: 2, ...LOAD_OPTIONS[name] });
        for (const m of mod.schema.maps) {
          const typedMap = h.maps[m.name];
          assert.ok(typedMap, `${name}: map ${m.name}`);
          for (const [k, v] of typedMap.entries()) assert.ok(k !== undefined && v !== undefined);
          maps++;
        }
        for (const s of mod.schema.sections) {
          for (const v of s.vars) {
            assert.notEqual(h[s.property]![v.name], undefined, `${name}: ${s.section} ${v.name}`);
            vars++;
          }
        }
        assert.deepEqual(Object.keys(h.programs), mod.schema.programs);
        programs += mod.schema.programs.length;
      } catch (err) {
        throw err instanceof Error ? new Error(`${name}: ${err.message}`, { cause: err }) : err;
      } finally {
        h.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.diagnostic(`${files.length} objects: ${maps} typed maps iterated, ${vars} globals read, ${programs} programs listed`);
  assert.ok(files.length >= 30 && maps >= 40, `${files.length} objects, ${maps} maps`);
});
