// Helpers of the gen tests: compile a gen_* fixture, generate its bindings into a temporary
// directory (importing bpfkit from this checkout's sources) and import the generated module.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateTypes, type GenObject, type GenSchema } from '../../src/index.js';
import type { BpfMap } from '../../src/maps/bpf-map.js';
import { compileBpf } from '../support/clang.js';
import { fixturesDir, repoRoot } from '../support/fixtures.js';

/** The generated handle as the tests drive it (the generated types are checked by compile.test.ts). */
export type AnyHandle = GenObject<Record<string, BpfMap<unknown, unknown>>, Record<string, unknown>> & Record<string, Record<string, unknown>>;

/** What a generated module exports, loosely typed for tests. */
export interface GeneratedModule {
  readonly schema: GenSchema;
  open(bytes: Uint8Array, options: { backend: 'user' | 'kernel' }): Promise<AnyHandle>;
  readonly [name: string]: unknown;
}

/** Import specifiers that make a generated module use this checkout's sources. */
export const sourceImports = { importFrom: path.join(repoRoot, 'src/index.ts'), kernelImportFrom: path.join(repoRoot, 'src/kernel/index.ts') };

const compiled = new Map<string, Uint8Array>();
const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** test/fixtures/NAME.c compiled with clang-16 (once per process). */
export function fixtureBytes(name: string): Uint8Array {
  let b = compiled.get(name);
  if (!b) compiled.set(name, (b = compileBpf(path.join(fixturesDir, `${name}.c`))));
  return b;
}

/** Generates NAME's bindings into a temporary directory and imports them. */
export async function generatedFixture(name: string): Promise<{ bytes: Uint8Array; mod: GeneratedModule; source: string }> {
  const bytes = fixtureBytes(name);
  const source = generateTypes(bytes, { object: `${name}.o`, ...sourceImports });
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-gen-'));
  tempDirs.push(dir);
  const file = path.join(dir, `${name}.ts`);
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}\n');
  writeFileSync(file, source);
  const mod = (await import(pathToFileURL(file).href)) as GeneratedModule;
  return { bytes, mod, source };
}

/** JSON.stringify that writes bigints as `123n` (for keys of maps compared across backends). */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x instanceof Uint8Array ? Array.from(x) : x));
}
