// Differential driver: one map in the kernel and the same map in bpfkit, the same operations on both, results compared.
import assert from 'node:assert/strict';
import { MapType } from '../../src/kernel/bpf/constants.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { deleteElem, keys, lookupElem, nextKey, updateElem } from '../../src/kernel/bpf/map-elem.js';
import { possibleCpus, type MapFd } from '../../src/kernel/bpf/map-fd.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import type { Sys } from '../../src/kernel/sys.js';
import { createMap } from '../../src/maps/registry.js';
import type { MapDef, MapEnv, MapOps } from '../../src/maps/map-ops.js';
import { AddressSpace } from '../../src/vm/address-space.js';

/** 0 or -errno from a kernel call. */
export function kernelErrno(fn: () => unknown): number {
  try {
    fn();
    return 0;
  } catch (err) {
    if (err instanceof KernelError) return -err.errno;
    throw err;
  }
}

const hex = (b: Uint8Array | undefined): string => (b === undefined ? 'none' : Buffer.from(b).toString('hex'));

/** A kernel map and a bpfkit map created from one definition. */
export class MapPair implements Disposable {
  readonly kernel: MapFd;
  readonly ours: MapOps;
  readonly space = new AddressSpace();
  readonly cpus: number;
  /** Operations compared so far. */
  ops = 0;

  constructor(
    sys: Sys,
    readonly def: MapDef,
    env: Partial<MapEnv> = {},
  ) {
    this.cpus = possibleCpus(sys);
    this.kernel = createKernelMap(sys, { type: def.type, keySize: def.keySize, valueSize: def.valueSize, maxEntries: def.maxEntries, flags: def.flags, ...(def.mapExtra ? { mapExtra: BigInt(def.mapExtra) } : {}) });
    this.ours = createMap(def, { space: this.space, cpus: this.cpus, ...env });
  }

  /** update on both; asserts equal return codes and returns it. */
  update(key: Uint8Array, value: Uint8Array, flags: number, what = ''): number {
    const k = kernelErrno(() => updateElem(this.kernel, key, value, flags));
    const o = this.ours.write(key, value, flags);
    this.ops++;
    assert.equal(o, k, `${what} update ${hex(key)} flags ${flags}: ours ${o}, kernel ${k}`);
    return o;
  }

  /** delete on both; asserts equal return codes. */
  delete(key: Uint8Array, what = ''): number {
    const k = kernelErrno(() => {
      if (!deleteElem(this.kernel, key)) throw new KernelError('delete', 2);
    });
    const o = this.ours.delete(key, 0);
    this.ops++;
    assert.equal(o, k, `${what} delete ${hex(key)}: ours ${o}, kernel ${k}`);
    return o;
  }

  /** user-side lookup on both; asserts equal bytes (or both absent). */
  lookup(key: Uint8Array, what = ''): Uint8Array | undefined {
    const k = lookupElem(this.kernel, key);
    const o = this.ours.read(key);
    this.ops++;
    assert.equal(hex(o), hex(k), `${what} lookup ${hex(key)}`);
    return o;
  }

  /** get_next_key from `key` on both; asserts equal (unordered: from a missing key, only that both have a first key or neither). */
  nextKey(key: Uint8Array | undefined, what = '', ordered = true): Uint8Array | undefined {
    const k = nextKey(this.kernel, key);
    const o = this.ours.nextKey(key);
    this.ops++;
    if (ordered) assert.equal(hex(o), hex(k), `${what} next key after ${hex(key)}`);
    else if (key === undefined || this.ours.read(key) === undefined) assert.equal(o === undefined, k === undefined, `${what} first key exists`);
    return o;
  }

  /** Every key, both sides, in order or as sets; and every value. */
  compareAll(inOrder: boolean, what = ''): number {
    const kk = [...keys(this.kernel)].map(hex);
    const ok: string[] = [];
    for (let k = this.ours.nextKey(undefined); k !== undefined; k = this.ours.nextKey(k)) ok.push(hex(k));
    if (inOrder) assert.deepEqual(ok, kk, `${what} key order`);
    else assert.deepEqual([...ok].sort(), [...kk].sort(), `${what} key set`);
    if (this.def.type !== MapType.DEVMAP && this.def.type !== MapType.CPUMAP && this.def.type !== MapType.SOCKMAP) assert.equal(this.ours.count(), this.def.type === MapType.ARRAY || this.def.type === MapType.PERCPU_ARRAY ? this.def.maxEntries : kk.length);
    for (const k of kk) this.lookup(Buffer.from(k, 'hex'), what);
    return kk.length;
  }

  [Symbol.dispose](): void {
    this.kernel.close();
  }
}
