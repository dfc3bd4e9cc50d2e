// bpf_strtol and bpf_strtoul: the kernel's __bpf_strtoull (kernel/bpf/helpers.c) over kstrtox's digit parser.
//
// Leading white space (isspace, including 0xa0 as the kernel's ctype has it) is skipped, then one
// '-'; at most 63 further characters are parsed. Base 0 picks 16 for "0x" followed by a hex
// digit, 8 for a leading 0, else 10; base 16 skips a "0x" prefix. No digit: -EINVAL; a value past
// 64 bits: -ERANGE; strtol's result must fit an s64 (-ERANGE), strtoul refuses a '-' (-EINVAL).
// The result slot is zeroed first and written only on success; the return value is the number of
// characters consumed.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperFn } from '../../vm/helpers.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';

const BASE_MASK = 0x1f;
const U64_MAX = (1n << 64n) - 1n;

const isSpace = (c: number): boolean => c === 0x20 || (c >= 9 && c <= 13) || c === 0xa0;
const lower = (c: number): number => (c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
const isXdigit = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (lower(c) >= 0x61 && lower(c) <= 0x66);

/** __bpf_strtoull: { consumed, value, negative } or a negative errno. */
export function strtoull(buf: Uint8Array, flags: bigint): { consumed: number; value: bigint; negative: boolean } | number {
  let base = Number(flags & BigInt(BASE_MASK));
  if (buf.length === 0) return -Errno.EINVAL;
  if (base !== 0 && base !== 8 && base !== 10 && base !== 16) return -Errno.EINVAL;
  if ((flags & ~BigInt(BASE_MASK)) !== 0n) return -Errno.EINVAL;
  let i = 0;
  while (i < buf.length && isSpace(buf[i]!)) i++;
  const negative = i < buf.length && buf[i] === 0x2d;
  if (negative) i++;
  const consumedBefore = i;
  if (buf.length - i === 0) return -Errno.EINVAL;
  // The kernel copies at most 63 characters into a NUL-terminated buffer.
  const str = new Uint8Array(64);
  str.set(buf.subarray(i, i + Math.min(buf.length - i, 63)));
  let s = 0;
  if (base === 0) base = str[0] === 0x30 ? (lower(str[1]!) === 0x78 && isXdigit(str[2]!) ? 16 : 8) : 10;
  if (base === 16 && str[0] === 0x30 && lower(str[1]!) === 0x78) s = 2;
  let value = 0n;
  let digits = 0;
  let overflow = false;
  const b = BigInt(base);
  for (; s < str.length; s++) {
    const c = str[s]!;
    const lc = lower(c);
    let v: number;
    if (c >= 0x30 && c <= 0x39) v = c - 0x30;
    else if (lc >= 0x61 && lc <= 0x66) v = lc - 0x61 + 10;
    else break;
    if (v >= base) break;
    if (value >> 60n !== 0n && value > (U64_MAX - BigInt(v)) / b) overflow = true;
    value = (value * b + BigInt(v)) & U64_MAX;
    digits++;
  }
  if (overflow) return -Errno.ERANGE;
  if (digits === 0) return -Errno.EINVAL;
  return { consumed: consumedBefore + s, value, negative };
}

/** bpf_strtol and bpf_strtoul (every program type's base set). */
export function strtolHelpers(): Map<number, HelperFn> {
  const helper = (signed: boolean): HelperFn => (vm, r1, _r2, _r3, r4) => {
    const len = argU32(vm, 2);
    const res = helperPtr(vm, r4, 8, true);
    vm.space.memory.view.setBigUint64(res, 0n, true);
    const at = helperPtr(vm, r1, len, false);
    const r = strtoull(vm.space.memory.bytes.slice(at, at + len), argU64(vm, 3));
    if (typeof r === 'number') return r;
    let value = r.value;
    if (signed) {
      if (r.negative) {
        if (BigInt.asIntN(64, -value) > 0n) return -Errno.ERANGE;
        value = BigInt.asUintN(64, -value);
      } else if (BigInt.asIntN(64, value) < 0n) return -Errno.ERANGE;
    } else if (r.negative) return -Errno.EINVAL;
    vm.space.memory.view.setBigUint64(res, value, true);
    return r.consumed;
  };
  return new Map<number, HelperFn>([
    [BpfFuncId.strtol, helper(true)],
    [BpfFuncId.strtoul, helper(false)],
  ]);
}
