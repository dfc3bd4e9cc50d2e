// Feature probes: cached per Sys, NotSupportedError with the minimum kernel, unanswerable errors not cached.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NotSupportedError } from '../../src/errors.js';
import { MapType } from '../../src/kernel/bpf/constants.js';
import { Features, haveFeature, mapTypeFeature, probeHelper, requireFeature } from '../../src/kernel/feature-probe.js';
import { HELPERS } from '../../src/isa/helpers.js';
import { BpfProgType } from '../../src/isa/uapi.generated.js';
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

kernelTest('probeHelper: what each type may call, also for types that need an expected attach type to load', (sys) => {
  // bpftool's own helper probe is no oracle here: Debian's bpftool looks only for "invalid func",
  // and 6.18 says "program of this type cannot use helper", so it lists skb helpers for XDP.
  const id = (name: string): number => HELPERS.find((h) => h.name === name)!.id;
  const cases: [string, number, string, boolean][] = [
    ['xdp', BpfProgType.XDP, 'xdp_adjust_head', true],
    ['xdp', BpfProgType.XDP, 'skb_store_bytes', false],
    ['xdp', BpfProgType.XDP, 'map_lookup_elem', true],
    ['sched_cls', BpfProgType.SCHED_CLS, 'skb_store_bytes', true],
    ['sched_cls', BpfProgType.SCHED_CLS, 'xdp_adjust_head', false],
    ['sk_lookup', BpfProgType.SK_LOOKUP, 'sk_assign', true],
    ['sk_lookup', BpfProgType.SK_LOOKUP, 'map_lookup_elem', true],
    ['sk_lookup', BpfProgType.SK_LOOKUP, 'xdp_adjust_head', false],
    ['cgroup_sock_addr', BpfProgType.CGROUP_SOCK_ADDR, 'bind', true],
    ['netfilter', BpfProgType.NETFILTER, 'skb_store_bytes', false],
  ];
  const got = cases.map(([t, type, h]) => `${t} ${h} ${probeHelper(sys, type, id(h))}`);
  assert.deepEqual(got, cases.map(([t, , h, want]) => `${t} ${h} ${want}`));
});
