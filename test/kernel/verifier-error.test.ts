// VerifierError: summary from the log's end, "(N lines omitted)", instruction index, source line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerifierError } from '../../src/kernel/verifier-error.js';

test('summary skips the statistics trailer and keeps the failing instruction', () => {
  const log = '0: R1=ctx() R10=fp0\n0: (bf) r0 = r2\nR2 !read_ok\nprocessed 1 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n';
  const err = new VerifierError('bpf(BPF_PROG_LOAD)', 13, log);
  assert.equal(err.name, 'VerifierError');
  assert.equal(err.code, 'ERR_VERIFIER');
  assert.equal(err.errnoName, 'EACCES');
  assert.equal(err.summary, '0: (bf) r0 = r2: R2 !read_ok');
  assert.equal(err.message, 'bpf(BPF_PROG_LOAD): EACCES: 0: (bf) r0 = r2: R2 !read_ok (2 lines omitted)');
  assert.equal(err.insn, 0);
  assert.equal(err.sourceLine, undefined);
  assert.equal(err.log, log);
  assert.equal(err.lines.length, 4);
});

test('instruction index and source line come from the last instruction before the error', () => {
  const log = [
    'func#0 @0',
    '0: R1=ctx() R10=fp0',
    '; int x = *(int *)(long)ctx->data; @ xdp.c:12',
    '0: (61) r2 = *(u32 *)(r1 +0)',
    '1: R2=pkt()',
    '; return *(int *)(long)r2; @ xdp.c:13',
    '17: (61) r0 = *(u32 *)(r2 +0)',
    'invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)',
    'R2 offset is outside of the packet',
    'processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
  ].join('\n');
  const err = new VerifierError('bpf(BPF_PROG_LOAD)', 13, log);
  assert.equal(err.insn, 17);
  assert.equal(err.sourceLine, 'return *(int *)(long)r2; @ xdp.c:13');
  assert.equal(err.summary, 'R2 offset is outside of the packet');
  assert.match(err.message, /\(9 lines omitted\)$/);
});

test('an empty log still gives a readable message; truncation is reported', () => {
  assert.equal(new VerifierError('bpf(BPF_BTF_LOAD)', 22, '').message, 'bpf(BPF_BTF_LOAD): EINVAL: (empty log)');
  assert.equal(new VerifierError('bpf(BPF_PROG_LOAD)', 28, 'x\n', { truncated: true }).message, 'bpf(BPF_PROG_LOAD): ENOSPC: x (log truncated)');
});
