// The map helpers a program calls (lookup, update, delete, push, pop, peek), bound to an object's maps.
//
// Each helper finds the map by the pointer the program passes in r1 (what `lddw rX, map`
// loaded), translates the key/value pointers through the address space (a bad pointer stops the
// program with a MemoryFault at the call), and returns what the map family returns: a value
// address or NULL for lookup, 0 or -errno otherwise — the kernel's contract for r0.

import { BpfFuncId, BpfMapType } from '../isa/uapi.generated.js';
import type { MapOps } from '../maps/map-ops.js';
import type { AddressSpace } from '../vm/address-space.js';
import { ExecutionError } from '../vm/errors.js';
import type { HelperContext, HelperFn } from '../vm/helpers.js';

const TWO32 = 4294967296;
const EINVAL = 22;

/** What the map helpers need: maps by pointer and the CPU of the current run. */
export interface MapHelperHost {
  /** The address space programs run in. */
  readonly space: AddressSpace;
  /** The map `address` points to, or undefined. */
  mapByAddress(address: number): MapOps | undefined;
  /** CPU of the current run (per-CPU maps hand out this CPU's slot). */
  cpu(): number;
}

/** Memory offset of `size` bytes at virtual `address`, or a MemoryFault at the call's pc. */
function at(vm: HelperContext, address: number, size: number, write: boolean): number {
  const off = vm.space.translateNumber(address, size, write);
  if (off < 0) throw vm.space.fault(vm.pc, Math.floor(address / TWO32), address >>> 0, size, write ? 'write' : 'read');
  return off;
}

function mapOf(host: MapHelperHost, vm: HelperContext, address: number): MapOps {
  const m = host.mapByAddress(address);
  if (!m) throw new ExecutionError(vm.pc, `r1 = 0x${address.toString(16)} is not a map pointer`);
  return m;
}

/** The map helpers by id, for a HelperTable. */
export function mapHelpers(host: MapHelperHost): Map<number, HelperFn> {
  const lookup: HelperFn = (vm, r1, r2) => {
    const m = mapOf(host, vm, r1);
    const k = at(vm, r2, m.def.keySize, false);
    return m.lookup(vm.space.memory.bytes, k, host.cpu());
  };
  const update: HelperFn = (vm, r1, r2, r3, r4) => {
    const m = mapOf(host, vm, r1);
    const k = at(vm, r2, m.def.keySize, false);
    const v = at(vm, r3, m.def.valueSize, false);
    return m.update(vm.space.memory.bytes, k, vm.space.memory.bytes, v, r4, host.cpu());
  };
  const del: HelperFn = (vm, r1, r2) => {
    const m = mapOf(host, vm, r1);
    const k = at(vm, r2, m.def.keySize, false);
    return m.delete(vm.space.memory.bytes, k);
  };
  const push: HelperFn = (vm, r1, r2, r3) => {
    const m = mapOf(host, vm, r1);
    if (!m.push) return -EINVAL;
    const v = at(vm, r2, m.def.valueSize, false);
    return m.push(vm.space.memory.bytes, v, r3);
  };
  const popOrPeek = (remove: boolean): HelperFn => (vm, r1, r2) => {
    const m = mapOf(host, vm, r1);
    if (!m.pop) return -EINVAL;
    // Queue/stack write the value out; a bloom filter's peek only reads it.
    const v = at(vm, r2, m.def.valueSize, m.def.type !== BpfMapType.BLOOM_FILTER);
    return m.pop(vm.space.memory.bytes, v, remove);
  };
  return new Map<number, HelperFn>([
    [BpfFuncId.map_lookup_elem, lookup],
    [BpfFuncId.map_update_elem, update],
    [BpfFuncId.map_delete_elem, del],
    [BpfFuncId.map_push_elem, push],
    [BpfFuncId.map_pop_elem, popOrPeek(true)],
    [BpfFuncId.map_peek_elem, popOrPeek(false)],
  ]);
}
