// Docs show only what the package ships: every import in README.md and docs/*.md names `bpfkit`,
// one of its `exports` subpaths, or a Node builtin — never a source file users do not have.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/fixtures.js';

test('README and docs import only the package entry points', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
  const allowed = new Set(Object.keys(pkg.exports).map((k) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`)));
  const files = ['README.md', ...readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const bad: string[] = [];
  let seen = 0;
  for (const f of files) {
    const text = readFileSync(path.join(repoRoot, f), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s+['"]([^'"\s]+)['"]|import\(\s*['"]([^'"\s]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      seen++;
      if (!allowed.has(spec) && !spec.startsWith('node:')) bad.push(`${f}: ${spec}`);
    }
  }
  assert.ok(seen > 5, 'expected the docs to show imports');
  assert.deepEqual(bad, [], `imports of modules the package does not export (allowed: ${[...allowed].join(', ')})`);
});

test('every exports subpath exists in the sources (src/<subpath>/index.ts)', () => {
  const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { exports: Record<string, { default: string }> };
  for (const [key, target] of Object.entries(pkg.exports)) {
    const src = target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts');
    assert.doesNotThrow(() => readFileSync(path.join(repoRoot, src)), `${key} -> ${src}`);
  }
});
