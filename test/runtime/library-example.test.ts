// examples/library.mjs — the README's library example as plain Node 20 JavaScript against the built package.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/fixtures.js';

const built = existsSync(path.join(repoRoot, 'dist', 'index.js'));

test('examples/library.mjs runs in plain Node: verify, userspace and (as root) kernel agree', { skip: built ? false : 'dist/ is not built (npm install builds it)' }, () => {
  const r = spawnSync('node', [path.join(repoRoot, 'examples', 'library.mjs')], { encoding: 'utf8', cwd: repoRoot, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^verify: accept, \d+ insns processed$/m);
  assert.match(r.stdout, /^userspace: retval 2, XDP_PASS counter on CPU 0: 1$/m);
  if (process.getuid?.() === 0) assert.match(r.stdout, /^kernel: retval 2, XDP_PASS counter summed over CPUs: 1$/m);
});
