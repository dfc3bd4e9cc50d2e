// Hints: every kernel rejection reason in the corpus gets a sentence; the classic mistakes get the right fix.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseBtf } from '../../src/btf/index.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { explainRejection } from '../../src/verifier/explain.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { fixturesDir } from '../support/fixtures.js';
import { corpus } from './corpus/index.js';
import { readGolden } from './golden.js';

const golden = readGolden();
const byName = new Map(corpus().map((p) => [p.name, p]));

function hintFor(name: string): string | undefined {
  const v = golden.programs[name];
  const p = byName.get(name);
  assert.ok(v && p, name);
  return explainRejection(v, p.insns);
}

test('every rejection reason the kernel gave in the corpus has a hint', () => {
  const missing: string[] = [];
  let rejected = 0;
  for (const [name, v] of Object.entries(golden.programs)) {
    if (v.verdict !== 'reject') continue;
    rejected++;
    if (!hintFor(name)) missing.push(`${name}: ${v.message}`);
  }
  console.log(`# hints: ${rejected - missing.length} of ${rejected} kernel rejections explained`);
  assert.deepEqual(missing, []);
});

test('a packet load without a data_end check: the fix names the bound to check', () => {
  assert.match(hintFor('pkt/no-check')!, /dereferenced before it was compared with data_end: add `if \(data \+ 14 > data_end\) return XDP_DROP;` \(the whole Ethernet header; this access reads up to byte 1\) before instruction 2/);
  // A check that is too short says how far it got.
  assert.match(hintFor('pkt/read-w-11')!, /reads up to byte 15, but the comparison with data_end only proved 14 bytes/);
});

test('the hint names the C source line when the instruction carries one', () => {
  const insns = [{ code: 0x71, dst: 0, src: 2, off: 0, imm: 0, source: { file: 'x.c', line: 23, column: 9, text: 'return eth->h_proto;' } }];
  const hint = explainRejection({ message: 'R2 offset is outside of the packet', detail: 'invalid access to packet, off=12 size=2, R2(id=0,off=0,r=0)', insn: 0 }, insns);
  assert.equal(hint, 'the packet pointer was dereferenced before it was compared with data_end: add `if (data + 14 > data_end) return XDP_DROP;` before line 23 (`return eth->h_proto;`)');
  // Past the Ethernet header, the bound is the end of the access.
  assert.match(explainRejection({ message: 'R2 offset is outside of the packet', detail: 'invalid access to packet, off=30 size=4, R2(id=0,off=0,r=0)', insn: 0 }, insns)!, /add `if \(data \+ 34 > data_end\) return XDP_DROP;` before line 23/);
});

test('missing null check, uninitialised register, leaked reservation, unbounded offset', () => {
  assert.match(hintFor('map/lookup-no-null-check')!, /may be NULL .* add `if \(!ptr\) return 0;`/);
  assert.match(hintFor('regs/exit-r0-unset')!, /returns without setting r0/);
  assert.match(hintFor('regs/mov-from-r3')!, /register r3 is read at instruction 0 before anything was written/);
  assert.match(hintFor('ringbuf/leak')!, /bpf_ringbuf_submit\(\) or bpf_ringbuf_discard\(\)/);
  assert.match(hintFor('map/var-unbounded')!, /not bounded/);
  assert.match(hintFor('map/var-jgt-48')!, /can reach bytes 48\.\.48 of a 48-byte map value: the index is not checked tightly enough against the size; check it first, e.g. `if \(idx >= 48\) return 0;` for 1-byte elements/);
  assert.equal(explainRejection({ message: 'something the kernel never said' }, []), undefined);
  assert.equal(explainRejection({}, []), undefined);
});

test('kfunc mistakes (test/fixtures/kfunc/kfunc_bad.c): each rejection gets the kfunc fix', () => {
  const spec = loadObject(new Uint8Array(readFileSync(path.join(fixturesDir, 'kfunc', 'kfunc_bad.o'))), { objectName: 'kfunc_bad' });
  const kernelBtf = existsSync('/sys/kernel/btf/vmlinux') ? parseBtf(new Uint8Array(readFileSync('/sys/kernel/btf/vmlinux'))) : undefined;
  const hint = (name: string): string => {
    const r = verifyProgram(spec.programs.find((p) => p.name === name)!, spec, { logLevel: 1, ...(kernelBtf ? { kernelBtf } : {}) });
    return r.hint ?? `(no hint for: ${r.message})`;
  };
  assert.match(hint('ct_leak'), /conntrack entry bpf_xdp_ct_lookup\(\) returned at instruction \d+ is not released.*bpf_ct_release/);
  assert.match(hint('ct_release_maybe_null'), /may be NULL: check it against NULL before the call/);
  assert.match(hint('ct_set_timeout_inserted'), /bpf_ct_set_timeout takes an entry from bpf_\*_ct_alloc\(\)/);
  assert.match(hint('ct_change_timeout_alloc'), /insert it with bpf_ct_insert_entry\(\) first/);
  assert.match(hint('ct_from_socket'), /not available to this program type/);
  assert.match(hint('dp_uninit'), /never initialised/);
  assert.match(hint('dp_buffer_too_small'), /smaller than the size passed with it/);
  assert.match(hint('meta_in_tc'), /device-bound program/);
  if (kernelBtf) {
    assert.match(hint('ct_no_null_check'), /may be NULL and is dereferenced/);
    assert.match(hint('ct_write_status'), /only ct->mark/);
    assert.match(hint('dp_write_rdonly'), /bpf_dynptr_slice_rdwr/);
  }
});
