// Creates one map definition in the kernel and in bpfkit's userspace registry and checks both accept or both refuse it.

import assert from 'node:assert/strict';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import type { Sys } from '../../src/kernel/sys.js';
import { MapAttributeError } from '../../src/maps/errors.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';

/** The attributes a definition varies. */
export interface MapAttributes {
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
}

/** For each of `defs` of map `type`: BPF_MAP_CREATE's verdict equals createMap's (a refusal must be a MapAttributeError). */
export function assertSameMapVerdicts(sys: Sys, type: number, defs: readonly MapAttributes[]): void {
  for (const d of defs) {
    let kernelOk = true;
    try {
      createKernelMap(sys, { type, ...d }).close();
    } catch {
      kernelOk = false;
    }
    let userOk = true;
    try {
      createMap({ name: 'm', type, ...d }, { space: new AddressSpace(), cpus: 1 });
    } catch (e) {
      assert.ok(e instanceof MapAttributeError, `${JSON.stringify(d)}: ${(e as Error).message}`);
      userOk = false;
    }
    assert.equal(userOk, kernelOk, `type ${type} ${JSON.stringify(d)}: bpfkit ${userOk ? 'accepts' : 'refuses'}, the kernel ${kernelOk ? 'accepts' : 'refuses'}`);
  }
}
