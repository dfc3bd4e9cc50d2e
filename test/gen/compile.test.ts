// The generated bindings of every fixture (test/fixtures/*.o and the gen_*.c ones), every example
// and every xdp-tools object compile under `tsc --strict`, with 'bpfkit' mapped to this checkout's
// sources; a usage file proves the types mean something (wrong uses are compile errors).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { generateTypes, NoBtfError } from '../../src/index.js';
import { listFixtures, repoRoot, xdpToolsObjects } from '../support/fixtures.js';
import { fixtureBytes } from './support.js';

const usage = `
import type { UserspaceProgram } from 'bpfkit';
import type { KernelProgram } from 'bpfkit/kernel';
import { Color, open as openTypes, Wide, type Counters, type Value } from './gen_types.js';
import { open as openConfig } from './gen_config.js';

export async function uses(bytes: Uint8Array): Promise<void> {
  const h = await openTypes(bytes, { backend: 'user' });
  h.load({ cpus: 2 });
  const v: Value | undefined = h.maps.values.get({ ifindex: 1, port: 2, proto: 3, pad: 0 });
  const packets: bigint | undefined = v?.packets;
  const name: string | undefined = v?.name;
  const mac: Uint8Array | undefined = v?.mac;
  const c: number | undefined = v?.flags.c;
  const d: bigint | undefined = v?.flags.d;
  const v4: number | undefined = v?.addr.v4;
  const left: number | undefined = v?.left;
  const per: Counters[] | undefined = h.maps.counters.getPerCpu(0);
  const blue: number = Color.BLUE;
  const wide: bigint = Wide.WIDE_BIG;
  const prog: UserspaceProgram = h.programs.xdp_types;
  // @ts-expect-error keys are struct key objects
  h.maps.values.get('x');
  // @ts-expect-error packets is a bigint
  const wrong: number | undefined = v?.packets;
  // @ts-expect-error no such map
  h.maps.nope;
  const k = await openTypes(bytes, { backend: 'kernel' });
  const kprog: KernelProgram = k.programs.xdp_types;
  const cfg = await openConfig(bytes, { backend: 'kernel' });
  cfg.rodata.cfg = { verdict: 1, min_len: 2, label: 'x' };
  const hits: bigint = cfg.bss.hits;
  // @ts-expect-error label is a string
  cfg.rodata.cfg = { verdict: 1, min_len: 2, label: 3 };
  // @ts-expect-error no such program
  cfg.programs.nope;
  void [packets, name, mac, c, d, v4, left, per, blue, wide, prog, wrong, kprog, hits];
}
`;

test('generated bindings of every fixture, example and xdp-tools object compile under tsc --strict', (t) => {
  const xdpTools = xdpToolsObjects();
  assert.ok(xdpTools.length > 0, 'xdp-tools objects not found (apt-get install xdp-tools)');
  const objects: [string, Uint8Array][] = [
    ...listFixtures().map((f) => [`fixture_${path.basename(f, '.o')}`, new Uint8Array(readFileSync(f))] as [string, Uint8Array]),
    ...readdirSync(path.join(repoRoot, 'examples'))
      .filter((f) => f.endsWith('.o'))
      .map((f) => [`example_${path.basename(f, '.o')}`, new Uint8Array(readFileSync(path.join(repoRoot, 'examples', f)))] as [string, Uint8Array]),
    ...xdpTools.map((f) => [`xdptools_${path.basename(f, '.o')}`, new Uint8Array(readFileSync(f))] as [string, Uint8Array]),
    ['gen_types', fixtureBytes('gen_types')],
    ['gen_config', fixtureBytes('gen_config')],
  ];
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-gen-tsc-'));
  try {
    const files: string[] = [];
    const noBtf: string[] = [];
    let lines = 0;
    for (const [name, bytes] of objects) {
      const stem = name.replace(/[^A-Za-z0-9_]/g, '_');
      let text: string;
      try {
        text = generateTypes(bytes, { object: `${name}.o` });
      } catch (err) {
        if (err instanceof NoBtfError) {
          noBtf.push(name);
          continue;
        }
        throw err instanceof Error ? new Error(`${name}: ${err.message}`, { cause: err }) : err;
      }
      lines += text.split('\n').length;
      writeFileSync(path.join(dir, `${stem}.ts`), text);
      files.push(`${stem}.ts`);
    }
    writeFileSync(path.join(dir, 'usage.ts'), usage);
    writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
    const tsconfig = {
      compilerOptions: {
        strict: true,
        target: 'ES2022',
        lib: ['ES2023', 'ESNext.Disposable'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        noEmit: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [path.join(repoRoot, 'node_modules/@types')],
        paths: { bpfkit: [path.join(repoRoot, 'src/index.ts')], 'bpfkit/kernel': [path.join(repoRoot, 'src/kernel/index.ts')] },
      },
      files: [...files, 'usage.ts'],
    };
    writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
    let out = '';
    try {
      execFileSync(path.join(repoRoot, 'node_modules/.bin/tsc'), ['-p', path.join(dir, 'tsconfig.json')], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      out = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
    }
    // tsc runs in the temporary directory: errors in its files print as `usage.ts(3,5): ...`; errors
    // in the checkout's own sources (`../..`) are other work in progress, not the bindings'.
    const ours = out.split('\n').filter((l) => /^[^./][^(]*\.ts\(\d+,\d+\): error/.test(l));
    if (out !== '' && ours.length === 0) t.diagnostic(`tsc reported errors outside the generated files:\n${out}`);
    t.diagnostic(`${files.length} generated modules (${lines} lines) + a usage file compiled under tsc --strict; ${noBtf.length} objects without BTF refused with NoBtfError${noBtf.length ? ` (${noBtf.join(', ')})` : ''}`);
    assert.deepEqual(ours, [], out);
    assert.ok(files.length >= objects.length - noBtf.length && files.length > 25, `${files.length} modules`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
