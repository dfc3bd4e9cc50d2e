// KernelError, its EPERM subclass and the errno table, checked from one table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpfkitError } from '../../src/errors.js';
import { errnoMessage, errnoName, errnoNumber } from '../../src/kernel/errno.js';
import { BPF_PERMISSION_HINT, isErrno, KernelError, kernelError, KernelPermissionError } from '../../src/kernel/kernel-error.js';

const cases: { op: string; errno: number; cls: typeof KernelError; name: string; errnoName: string; message: string }[] = [
  {
    op: 'bpf(BPF_MAP_CREATE)',
    errno: 1,
    cls: KernelPermissionError,
    name: 'KernelPermissionError',
    errnoName: 'EPERM',
    message: `bpf(BPF_MAP_CREATE): EPERM: operation not permitted (${BPF_PERMISSION_HINT})`,
  },
  { op: 'socket', errno: 1, cls: KernelPermissionError, name: 'KernelPermissionError', errnoName: 'EPERM', message: 'socket: EPERM: operation not permitted' },
  { op: 'bpf(BPF_MAP_LOOKUP_ELEM)', errno: 2, cls: KernelError, name: 'KernelError', errnoName: 'ENOENT', message: 'bpf(BPF_MAP_LOOKUP_ELEM): ENOENT: no such file or directory' },
  { op: 'bpf(BPF_PROG_LOAD)', errno: 22, cls: KernelError, name: 'KernelError', errnoName: 'EINVAL', message: 'bpf(BPF_PROG_LOAD): EINVAL: invalid argument' },
  { op: 'bpf(BPF_PROG_LOAD)', errno: 524, cls: KernelError, name: 'KernelError', errnoName: 'ENOTSUPP', message: 'bpf(BPF_PROG_LOAD): ENOTSUPP: operation not supported (kernel-internal ENOTSUPP)' },
  { op: 'ioctl', errno: 4000, cls: KernelError, name: 'KernelError', errnoName: 'E4000', message: 'ioctl: E4000: unknown error 4000' },
];

for (const c of cases) {
  test(`kernelError(${c.op}, ${c.errno}) -> ${c.name}`, () => {
    const err = kernelError(c.op, c.errno);
    assert.ok(err instanceof c.cls);
    assert.ok(err instanceof KernelError);
    assert.ok(err instanceof BpfkitError);
    assert.equal(err.name, c.name);
    assert.equal(err.code, 'ERR_KERNEL');
    assert.equal(err.op, c.op);
    assert.equal(err.errno, c.errno);
    assert.equal(err.errnoName, c.errnoName);
    assert.equal(err.message, c.message);
  });
}

test('an explicit hint replaces the default EPERM hint', () => {
  const err = kernelError('bpf(BPF_MAP_UPDATE_ELEM)', 1, { hint: 'the map is frozen' });
  assert.equal(err.message, 'bpf(BPF_MAP_UPDATE_ELEM): EPERM: operation not permitted (the map is frozen)');
});

test('withContext keeps class, fields and cause', () => {
  const cause = new Error('inner');
  const err = kernelError('bpf(BPF_OBJ_GET)', 2, { cause }).withContext('open pinned /sys/fs/bpf/x');
  assert.ok(err instanceof KernelError);
  assert.equal(err.errnoName, 'ENOENT');
  assert.equal(err.cause, cause);
  assert.equal(err.message, 'open pinned /sys/fs/bpf/x: bpf(BPF_OBJ_GET): ENOENT: no such file or directory');
});

test('isErrno matches by number and by name, and only KernelErrors', () => {
  const err = kernelError('x', 28);
  assert.ok(isErrno(err, 28));
  assert.ok(isErrno(err, 'ENOSPC'));
  assert.ok(!isErrno(err, 'EPERM'));
  assert.ok(!isErrno(new Error('ENOSPC'), 'ENOSPC'));
});

test('errno table round-trips names', () => {
  for (const n of [1, 2, 7, 9, 13, 14, 16, 17, 22, 28, 95, 524]) {
    assert.equal(errnoNumber(errnoName(n)), n);
    assert.doesNotMatch(errnoMessage(n), /unknown/);
  }
});
