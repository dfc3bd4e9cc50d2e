// Feature probes: cached per Sys, NotSupportedError with the minimum kernel, unanswerable errors not cached.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotSupportedError } from '../../src/errors.js';
import { MapType } from '../../src/kernel/bpf/constants.js';
import { Features, haveFeature, mapTypeFeature, requireFeature } from '../../src/kernel/feature-probe.js';
import { KernelPermissionError } from '../../src/kernel/kernel-error.js';
import { FakeSys } from './fake-sys.js';
import { kernelTest } from './harness.js';

const ringbuf = mapTypeFeature('BPF_MAP_TYPE_RINGBUF', '5.8', MapType.RINGBUF, 0, 0, 4096);

test('an absent feature is probed once and reported with its minimum kernel', () => {
  const sys = new FakeSys().failWith(22);
  assert.equal(haveFeature(sys, ringbuf), false);
  assert.throws(
    () => requireFeature(sys, ringbuf),
    (e: unknown) => e instanceof NotSupportedError && e.feature === 'BPF_MAP_TYPE_RINGBUF' && e.minKernel === '5.8' && e.message === 'BPF_MAP_TYPE_RINGBUF not supported (requires >= 5.8)',
  );
  assert.equal(sys.calls.length, 1);
});

test('a present feature closes its probe object', () => {
  const sys = new FakeSys().returnFd();
  assert.equal(haveFeature(sys, ringbuf), true);
  assert.equal(sys.closed.length, 1);
  requireFeature(sys, ringbuf);
});

test('EPERM is not an answer: thrown, not cached', () => {
  const sys = new FakeSys().failWith(1).returnFd();
  assert.throws(() => haveFeature(sys, ringbuf), KernelPermissionError);
  assert.equal(haveFeature(sys, ringbuf), true);
});

kernelTest('on this kernel (>= 5.8) XDP, ring buffers and batch ops are present: absence would be a failure', (sys) => {
  assert.equal(haveFeature(sys, Features.xdpProgram), true);
  assert.equal(haveFeature(sys, Features.ringbufMap), true);
  assert.equal(haveFeature(sys, Features.batchOps), true);
  assert.equal(haveFeature(sys, mapTypeFeature('map type 9999', '99.0', 9999)), false);
});
