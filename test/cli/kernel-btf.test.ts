// verify / run / test-run read this machine's kernel BTF for objects with kfunc calls or CO-RE, as BPF_PROG_LOAD would check them.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { needsKernelBtf } from '../../src/cli/kernel-btf.js';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/output.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { fixturePath } from '../support/fixtures.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t) };
  const code = await main(argv, io);
  return { code, out, err };
}

test('only objects with kfunc calls or CO-RE relocations need the kernel BTF', () => {
  assert.equal(needsKernelBtf(loadObject(readFileSync(fixturePath('core_kfunc')))), true);
  assert.equal(needsKernelBtf(loadObject(readFileSync(fixturePath('xdp_stats')))), false);
});

test('bpfkit verify accepts a kfunc + CO-RE program with this machine\'s BTF, as the kernel does', { skip: existsSync('/sys/kernel/btf/vmlinux') ? false : 'no /sys/kernel/btf/vmlinux on this machine' }, async () => {
  const spec = loadObject(readFileSync(fixturePath('core_kfunc')));
  // Without the kernel's BTF the verifier cannot check the kfunc against the kernel's prototype.
  assert.equal(verifyProgram(spec.programs[0]!, spec).verdict, 'reject');
  const r = await run('verify', fixturePath('core_kfunc'), '-j');
  assert.equal(r.code, 0, r.out + r.err);
  assert.deepEqual((JSON.parse(r.out) as { verdict: string }[]).map((p) => p.verdict), ['accept']);
});
