// XSK maps in the userspace runtime: attributes and user-side operations against the kernel's
// BPF_MAP_CREATE / LOOKUP / DELETE / GET_NEXT_KEY, and xdp-tools' default AF_XDP program run on
// both sides with an empty map (the kernel cannot be given a socket here; bpfkit can).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { loadObject } from '../../src/elf/object-loader.js';
import { BpfMapFlags, BpfMapType, XdpAction } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { deleteElem, lookupElem, nextKey } from '../../src/kernel/bpf/map-elem.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { createMap } from '../../src/maps/registry.js';
import { XskMap } from '../../src/maps/xskmap.js';
import { buildUdp } from '../../src/packet/index.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { assertSameMapVerdicts } from '../support/map-attributes.js';

kernelTest('xskmap attributes and user-side operations equal the kernel', (sys) => {
  const defs = [
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 },
    { keySize: 8, valueSize: 4, maxEntries: 4, flags: 0 },
    { keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 },
    { keySize: 4, valueSize: 4, maxEntries: 0, flags: 0 },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.NO_PREALLOC },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.RDONLY },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.WRONLY },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.RDONLY_PROG },
    { keySize: 4, valueSize: 4, maxEntries: 4, flags: BpfMapFlags.NUMA_NODE },
  ];
  assertSameMapVerdicts(sys, BpfMapType.XSKMAP, defs);

  using k = createKernelMap(sys, { type: BpfMapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 4 });
  const u = createMap({ name: 'x', type: BpfMapType.XSKMAP, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }, { space: new AddressSpace(), cpus: 1 });
  for (const i of [0, 3, 4, 100]) {
    // delete: 0 on any slot in range (empty or not), EINVAL past the end.
    let kDel = 0;
    try {
      deleteElem(k, u32(i));
    } catch (e) {
      kDel = -(e as { errno: number }).errno;
    }
    assert.equal(u.delete(u32(i), 0), kDel, `delete ${i}`);
    // lookup from user space: the kernel says EOPNOTSUPP whatever the slot; bpfkit has nothing to read.
    assert.throws(() => lookupElem(k, u32(i)));
    assert.equal(u.read(u32(i)), undefined);
    const kn = nextKey(k, u32(i));
    assert.deepEqual(u.nextKey(u32(i)), kn, `next key after ${i}`);
  }
  assert.deepEqual(u.nextKey(undefined), nextKey(k, undefined));
});

const XSK_PROG = '/usr/lib/x86_64-linux-gnu/bpf/xsk_def_xdp_prog.o';

kernelTest('xdp-tools xsk_def_prog: XDP_PASS with an empty xskmap on both sides, XDP_REDIRECT to a socket in bpfkit', (sys) => {
  assert.ok(existsSync(XSK_PROG), `${XSK_PROG} missing: install xdp-tools (.ci/run does)`);
  const spec = loadObject(new Uint8Array(readFileSync(XSK_PROG)), { objectName: 'xsk_def_xdp_prog' });
  using kernel = loadKernelObject(sys, spec);
  using user = loadUserspace(spec);
  const name = spec.programs[0]!.name;
  const data = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 2000, payload: 'xsk' });
  const k = kernel.program(name).testRun({ dataIn: data });
  const u = user.program(name).testRun({ data });
  assert.equal(u.retval, k.retval);
  assert.equal(u.retval, XdpAction.PASS);
  const xsks = user.mapOps.get('xsks_map');
  assert.ok(xsks instanceof XskMap);
  assert.equal(xsks.write(u32(0), u32(42), 0), 0);
  assert.equal(xsks.socket(0), 42);
  assert.equal(user.program(name).testRun({ data }).retval, XdpAction.REDIRECT, 'queue 0 now has a socket');
  assert.equal(xsks.write(u32(0), u32(43), 1), -17, 'BPF_NOEXIST on a filled slot');
  assert.equal(xsks.write(u32(1), u32(43), 2), -2, 'BPF_EXIST on an empty slot');
  assert.equal(xsks.delete(u32(0), 0), 0);
  assert.equal(user.program(name).testRun({ data }).retval, XdpAction.PASS);
});
