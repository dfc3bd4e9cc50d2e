// bpf_probe_read_kernel/_str and bpf_probe_read_user/_str: reads of the program's own memory; kernel and user memory beyond it are not modelled.
//
// In the kernel these copy from any address without faulting (copy_from_kernel_nofault,
// copy_from_user_nofault). Userspace models the kernel objects a program can point at — its
// stack, the packet, the context, map values — as bpfkit's own memory: a kernel read there
// succeeds. An address outside it gets what x86-64 answers for an address nothing maps: -ERANGE
// for a user-space or non-canonical address (copy_from_kernel_nofault_allowed), -EFAULT for
// kernel space. User reads find no user memory: -EFAULT (bpfkit's addresses are kernel objects).
// On failure the destination is zeroed, as the helpers do.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';
import { checkKernelStructRead } from './task-struct.js';

const TWO32 = 4294967296;
/** TASK_SIZE_MAX + PAGE_SIZE with 4-level paging: below it is user space. */
const USER_END = 0x0000800000000000n;
/** The first canonical kernel address (48-bit virtual addresses). */
const KERNEL_START = 0xffff800000000000n;
/** The vsyscall page, refused like a user address. */
const VSYSCALL = 0xffffffffff600000n;

/** Memory offset of byte `address` in the program's space, or -1. */
function translate(vm: HelperContext, address: bigint, size: number): number {
  if (address >= 1n << 53n) return -1;
  const a = Number(address);
  return vm.space.translate(Math.floor(a / TWO32), a >>> 0, Math.max(size, 1), false);
}

/** copy_from_kernel_nofault_allowed on x86-64 (4-level paging). */
function kernelReadAllowed(address: bigint): boolean {
  return address >= KERNEL_START && (address & ~0xfffn) !== VSYSCALL;
}

/** The destination buffer (`r1`, `size` bytes). */
function dest(vm: HelperContext, r1: number, size: number): Uint8Array {
  if (size === 0) return new Uint8Array(0);
  const at = helperPtr(vm, r1, size, true);
  return vm.space.memory.bytes.subarray(at, at + size);
}

function probeReadKernel(vm: HelperContext, r1: number): number {
  const size = argU32(vm, 2);
  const src = argU64(vm, 3);
  const at = translate(vm, src, size);
  const dst = dest(vm, r1, size);
  if (at >= 0) {
    checkKernelStructRead(vm.space, at, size);
    dst.set(vm.space.memory.bytes.subarray(at, at + size));
    return 0;
  }
  dst.fill(0);
  return kernelReadAllowed(src) ? -Errno.EFAULT : -Errno.ERANGE;
}

function probeReadKernelStr(vm: HelperContext, r1: number): number {
  const size = argU32(vm, 2);
  const src = argU64(vm, 3);
  if (size === 0) return 0;
  const dst = dest(vm, r1, size);
  if (translate(vm, src, 1) < 0) {
    dst.fill(0);
    return kernelReadAllowed(src) ? -Errno.EFAULT : -Errno.ERANGE;
  }
  const mem = vm.space.memory.bytes;
  for (let n = 0; n < size; n++) {
    const at = translate(vm, src + BigInt(n), 1);
    if (at >= 0) checkKernelStructRead(vm.space, at, 1);
    if (at < 0) {
      dst.fill(0);
      return -Errno.EFAULT;
    }
    const c = mem[at]!;
    dst[n] = c;
    if (c === 0) return n + 1;
  }
  dst[size - 1] = 0;
  return size;
}

/** The four probe-read helpers. */
export function probeReadHelpers(): Map<number, HelperFn> {
  const user: HelperFn = (vm, r1) => {
    const size = argU32(vm, 2);
    if (size === 0) return translate(vm, argU64(vm, 3), 1) < 0 && argU64(vm, 3) < USER_END ? 0 : -Errno.EFAULT;
    dest(vm, r1, size).fill(0);
    return -Errno.EFAULT;
  };
  const userStr: HelperFn = (vm, r1) => {
    const size = argU32(vm, 2);
    if (size === 0) return 0;
    dest(vm, r1, size).fill(0);
    return -Errno.EFAULT;
  };
  return new Map<number, HelperFn>([
    [BpfFuncId.probe_read_kernel, (vm, r1) => probeReadKernel(vm, r1)],
    [BpfFuncId.probe_read_kernel_str, (vm, r1) => probeReadKernelStr(vm, r1)],
    [BpfFuncId.probe_read_user, user],
    [BpfFuncId.probe_read_user_str, userStr],
  ]);
}
