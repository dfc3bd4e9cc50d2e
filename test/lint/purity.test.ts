// Proves the lint rule that keeps the pure core browser-safe fires (and stays quiet elsewhere).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function lint(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

test('the pure core may not import Node-only modules', async () => {
  for (const dir of ['isa', 'asm', 'btf', 'elf', 'packet', 'vm']) {
    const msgs = await lint(`src/${dir}/probe.ts`, "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n");
    assert.ok(msgs.some((m) => m.startsWith('no-restricted-imports') && /browser/.test(m)), `${dir}: ${msgs.join('; ')}`);
  }
  const bare = await lint('src/elf/probe.ts', "import * as os from 'os';\nexport const x = os;\n");
  assert.ok(bare.some((m) => m.startsWith('no-restricted-imports')), bare.join('; '));
});

test('the pure core may not import kernel/, nic/, cli/ or dashboard/', async () => {
  for (const target of ['../kernel/sys.js', '../nic/audit.js', '../cli/main.js', '../dashboard/server.js']) {
    const msgs = await lint('src/isa/probe.ts', `import { x } from '${target}';\nexport const y = x;\n`);
    assert.ok(msgs.some((m) => m.startsWith('no-restricted-imports') && /dependency direction/.test(m)), `${target}: ${msgs.join('; ')}`);
  }
});

test('the pure core may not use Node globals such as Buffer and process', async () => {
  const msgs = await lint('src/btf/probe.ts', 'export const b = Buffer.from([1]);\nexport const e = process.env;\n');
  assert.equal(msgs.filter((m) => m.startsWith('no-restricted-globals')).length, 2, msgs.join('; '));
});

test('kernel/ and cli/ may use Node modules; the core may import itself', async () => {
  assert.deepEqual(await lint('src/kernel/probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n"), []);
  assert.deepEqual(await lint('src/cli/probe.ts', "import { x } from '../kernel/sys.js';\nexport const y = x;\n"), []);
  assert.deepEqual(await lint('src/elf/probe.ts', "import { decode } from '../isa/decode.js';\nexport const y = decode;\n"), []);
});
