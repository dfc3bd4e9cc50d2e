// bpf_user_ringbuf_drain over a UserRingbufMap, and the dynptr helpers its callback reads samples with (local and ring buffer dynptrs).
//
// The callback gets a pointer to a `struct bpf_dynptr_kern` the kernel keeps on its stack —
// `void *data; u32 size (bits 0-23 the size, 24-30 the type, 31 read-only); u32 offset` — of
// type BPF_DYNPTR_TYPE_LOCAL over the sample. Here the struct lives in a small read-only region
// of the address space, refilled for each sample. bpf_dynptr_read / bpf_dynptr_write /
// bpf_dynptr_data follow kernel/bpf/helpers.c for local and ring buffer dynptrs (offset and
// length checked against the size: -E2BIG / NULL; flags must be 0; writes refused on a
// read-only dynptr); a dynptr of another type (skb, xdp) is not served here.

import { NotSupportedError } from '../../errors.js';
import { BpfFuncId } from '../../isa/uapi.generated.js';
import { UserRingbufMap } from '../../maps/user-ringbuf.js';
import type { AddressSpace, Region } from '../../vm/address-space.js';
import { ExecutionError, InvalidProgramError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { FUNC_TAG } from '../../vm/program.js';
import type { HelperEnv } from './env.js';
import { mapArg } from './map-helpers.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';

const TWO32 = 4294967296;
/** struct bpf_dynptr_kern: data pointer, size word, offset. */
export const DYNPTR_KERN_SIZE = 16;
const DYNPTR_SIZE_MASK = 0xffffff;
const DYNPTR_TYPE_SHIFT = 28;
const DYNPTR_RDONLY_BIT = 0x80000000;
/** enum bpf_dynptr_type. */
export const DynptrType = { INVALID: 0, LOCAL: 1, RINGBUF: 2, SKB: 3, XDP: 4 } as const;

interface Dynptr {
  readonly data: number;
  readonly size: number;
  readonly type: number;
  readonly rdonly: boolean;
  readonly offset: number;
}

/** Reads the struct bpf_dynptr_kern at `address`. */
function readDynptr(vm: HelperContext, address: number): Dynptr {
  const at = helperPtr(vm, address, DYNPTR_KERN_SIZE, false);
  const v = vm.space.memory.view;
  const word = v.getUint32(at + 8, true);
  return { data: v.getUint32(at, true) + v.getUint32(at + 4, true) * TWO32, size: word & DYNPTR_SIZE_MASK, type: (word >>> DYNPTR_TYPE_SHIFT) & 0x7, rdonly: (word & DYNPTR_RDONLY_BIT) !== 0, offset: v.getUint32(at + 12, true) };
}

/** Writes a struct bpf_dynptr_kern of `type` over `size` bytes at `data` into memory at offset `at`. */
export function writeDynptr(space: AddressSpace, at: number, data: number, size: number, type: number): void {
  const v = space.memory.view;
  v.setUint32(at, data >>> 0, true);
  v.setUint32(at + 4, Math.floor(data / TWO32), true);
  v.setUint32(at + 8, ((size & DYNPTR_SIZE_MASK) | (type << DYNPTR_TYPE_SHIFT)) >>> 0, true);
  v.setUint32(at + 12, 0, true);
}

function localKind(d: Dynptr, helper: string): void {
  if (d.type !== DynptrType.LOCAL && d.type !== DynptrType.RINGBUF) throw new NotSupportedError(`${helper} on a dynptr of type ${d.type} in the userspace runtime`, undefined, 'only local and ring buffer dynptrs are served here');
}

/** bpf_dynptr_check_off_len: -E2BIG when [offset, offset + len) leaves the dynptr. */
const outside = (d: Dynptr, offset: number, len: number): boolean => len > d.size || offset > d.size - len;

function callbackSlot(vm: HelperContext, fn: number): number {
  if (Math.floor(fn / TWO32) !== FUNC_TAG) throw new InvalidProgramError(vm.pc, `callback argument 0x${fn.toString(16)} is not a function pointer (ld.func)`);
  return fn % TWO32;
}

/** bpf_user_ringbuf_drain and the local/ring buffer dynptr helpers, bound to `env`. */
export function userRingbufHelpers(env: HelperEnv): Map<number, HelperFn> {
  const dynptrRegions = new WeakMap<AddressSpace, Region>();
  return new Map<number, HelperFn>([
    [
      BpfFuncId.user_ringbuf_drain,
      (vm, mapAddr, fn, ctx) => {
        const map = mapArg(vm, env, mapAddr, 'bpf_user_ringbuf_drain');
        if (!(map instanceof UserRingbufMap)) throw new ExecutionError(vm.pc, `bpf_user_ringbuf_drain: map "${map.def.name}" is not a user ring buffer`);
        const flags = argU64(vm, 4);
        if (flags > 0xffffffffn) return -Errno.EINVAL;
        const slot = callbackSlot(vm, fn);
        if (!vm.callFunction) throw new NotSupportedError('callbacks (bpf_user_ringbuf_drain) in this execution engine', undefined, 'run the program with the interpreter');
        const call = vm.callFunction.bind(vm);
        let region = dynptrRegions.get(vm.space);
        if (!region) {
          region = vm.space.addRegion('user_ringbuf_dynptr', DYNPTR_KERN_SIZE, { kind: 'other', writable: false, align: 8 });
          dynptrRegions.set(vm.space, region);
        }
        const r = region;
        return map.drain((address, size) => {
          writeDynptr(vm.space, r.start, address, size, DynptrType.LOCAL);
          return call(slot, r.address(), ctx, 0, 0, 0);
        }, Number(flags));
      },
    ],
    [
      BpfFuncId.dynptr_read,
      (vm, dst, _len, src, _offset, flags) => {
        const n = argU32(vm, 2);
        const off = argU32(vm, 4);
        const d = readDynptr(vm, src);
        if (d.data === 0 || flags !== 0) return -Errno.EINVAL;
        if (outside(d, off, n)) return -Errno.E2BIG;
        localKind(d, 'bpf_dynptr_read');
        const to = helperPtr(vm, dst, n, true);
        const from = helperPtr(vm, d.data + d.offset + off, n, false);
        vm.space.memory.bytes.copyWithin(to, from, from + n);
        return 0;
      },
    ],
    [
      BpfFuncId.dynptr_write,
      (vm, dst, _offset, src, _len, flags) => {
        const off = argU32(vm, 2);
        const n = argU32(vm, 4);
        const d = readDynptr(vm, dst);
        if (d.data === 0 || d.rdonly) return -Errno.EINVAL;
        if (outside(d, off, n)) return -Errno.E2BIG;
        localKind(d, 'bpf_dynptr_write');
        if (flags !== 0) return -Errno.EINVAL;
        const from = helperPtr(vm, src, n, false);
        const to = helperPtr(vm, d.data + d.offset + off, n, true);
        vm.space.memory.bytes.copyWithin(to, from, from + n);
        return 0;
      },
    ],
    [
      BpfFuncId.dynptr_data,
      (vm, ptr) => {
        const off = argU32(vm, 2);
        const n = argU32(vm, 3);
        const d = readDynptr(vm, ptr);
        if (d.data === 0 || outside(d, off, n) || d.rdonly) return 0;
        // skb and xdp dynptrs give no direct pointer (bpf_dynptr_slice is for them): NULL, as the kernel.
        if (d.type === DynptrType.SKB || d.type === DynptrType.XDP) return 0;
        localKind(d, 'bpf_dynptr_data');
        return d.data + d.offset + off;
      },
    ],
  ]);
}
