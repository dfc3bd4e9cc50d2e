// The generated bpf_attr layouts: up to date with this kernel's BTF, and pinned to the stable uapi offsets.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { BPF_ATTR_SIZE, MAP_CREATE_ATTR, MAP_ELEM_ATTR, OBJ_INFO_ATTR, PROG_INFO, PROG_LOAD_ATTR, TEST_RUN_ATTR } from '../../src/kernel/bpf-attr.generated.js';

test('uapi offsets that never change (the ABI) are where the generated layouts say', () => {
  assert.ok(BPF_ATTR_SIZE >= 120);
  assert.deepEqual(MAP_CREATE_ATTR.fields.map_name, { offset: 28, size: 16 });
  assert.deepEqual(MAP_ELEM_ATTR.fields.key, { offset: 8, size: 8 });
  assert.equal(MAP_ELEM_ATTR.fields.value.offset, MAP_ELEM_ATTR.fields.next_key.offset);
  assert.deepEqual(PROG_LOAD_ATTR.fields.log_buf, { offset: 32, size: 8 });
  assert.deepEqual(PROG_LOAD_ATTR.fields.prog_name, { offset: 48, size: 16 });
  assert.deepEqual(TEST_RUN_ATTR.fields.duration, { offset: 36, size: 4 });
  assert.deepEqual(OBJ_INFO_ATTR.fields.info, { offset: 8, size: 8 });
  assert.deepEqual(PROG_INFO.fields.tag, { offset: 8, size: 8 });
  assert.deepEqual(PROG_INFO.fields.gpl_compatible, { offset: 84, size: 4, bits: [0, 1] });
});

const canRegenerate = existsSync('/sys/kernel/btf/vmlinux') && (() => {
  try {
    execFileSync('bpftool', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('scripts/gen-bpf-attr.ts --check finds no drift', { skip: canRegenerate ? false : 'needs /sys/kernel/btf/vmlinux and bpftool' }, () => {
  const out = execFileSync('node', ['--import', 'tsx', 'scripts/gen-bpf-attr.ts', '--check'], { encoding: 'utf8' });
  assert.match(out, /up to date/);
});
