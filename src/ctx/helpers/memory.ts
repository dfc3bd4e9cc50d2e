// Checked access to program memory for helpers: a pointer argument becomes a memory offset or a MemoryFault.

import type { HelperContext } from '../../vm/helpers.js';

const TWO32 = 4294967296;

/**
 * The memory offset of `length` bytes at virtual address `address`, checked like a load (or a
 * store when `write`). Throws the MemoryFault a load there would (the verifier rules such calls
 * out; a program run unverified gets a clear fault instead of corrupt memory).
 */
export function helperPtr(vm: HelperContext, address: number, length: number, write: boolean): number {
  const at = vm.space.translateNumber(address, Math.max(length, 1), write);
  if (at < 0) throw vm.space.fault(vm.pc, Math.floor(address / TWO32), address >>> 0, Math.max(length, 1), write ? 'write' : 'read');
  return at;
}

/** A copy of `length` bytes at `address`. */
export function helperRead(vm: HelperContext, address: number, length: number): Uint8Array {
  const at = helperPtr(vm, address, length, false);
  return vm.space.memory.bytes.slice(at, at + length);
}

/** The low 32 bits of register `i` as a signed int (an `int` helper argument). */
export const argS32 = (vm: HelperContext, i: number): number => vm.regLo(i) | 0;
/** The low 32 bits of register `i` as an unsigned int (a `u32` helper argument). */
export const argU32 = (vm: HelperContext, i: number): number => vm.regLo(i) >>> 0;
/** Register `i` as a full unsigned 64-bit value (a `u64` flags argument). */
export const argU64 = (vm: HelperContext, i: number): bigint => vm.reg(i);

/** errno values helpers return negated. */
export const Errno = { EPERM: 1, ENOENT: 2, E2BIG: 7, EFAULT: 14, EBUSY: 16, EEXIST: 17, EINVAL: 22, ENOMEM: 12, ENODEV: 19, ENOSPC: 28, ERANGE: 34, ENOTSUPP: 524, EOPNOTSUPP: 95, EACCES: 13 } as const;
