// The TCX feature probe: present on this kernel (>= 6.6), absent when PROG_QUERY says EINVAL, not cached on EPERM.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tcxFeature } from '../../../src/kernel/attach/features.js';
import { BpfCmd } from '../../../src/kernel/bpf/constants.js';
import { haveFeature } from '../../../src/kernel/feature-probe.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { FakeSys } from '../fake-sys.js';
import { kernelTest } from '../harness.js';

kernelTest('TCX is present on this kernel (6.18)', (sys) => {
  assert.equal(haveFeature(sys, tcxFeature), true);
  assert.equal(sys.count(BpfCmd.PROG_QUERY), 1);
  assert.equal(haveFeature(sys, tcxFeature), true);
  assert.equal(sys.count(BpfCmd.PROG_QUERY), 1, 'cached');
});

test('EINVAL from the probe means no TCX; EPERM is an error, asked again next time', () => {
  const old = new FakeSys().failWith(22);
  assert.equal(haveFeature(old, tcxFeature), false);
  assert.equal(old.callsOf(BpfCmd.PROG_QUERY).length, 1);
  const denied = new FakeSys().failWith(1).returnFd();
  assert.throws(() => haveFeature(denied, tcxFeature), (e: unknown) => e instanceof KernelError && e.errnoName === 'EPERM');
  assert.equal(haveFeature(denied, tcxFeature), true);
});
