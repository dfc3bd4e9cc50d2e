// The base helpers every program type gets: time, randomness, the CPU, and bpf_trace_printk.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { argU32, helperRead } from './memory.js';
import { formatTracePrintk, MAX_BPRINTF_BUF } from './trace-printk.js';

const TWO32 = 4294967296;

/** Reads a NUL-terminated string at a virtual address, as the kernel's strncpy_from_kernel_nofault ('' when unreadable). */
function readCString(vm: HelperContext, address: bigint, max: number): string {
  const a = Number(address);
  let s = '';
  for (let n = 0; n < max; n++) {
    const at = vm.space.translate(Math.floor((a + n) / TWO32), (a + n) >>> 0, 1, false);
    if (at < 0) return n === 0 ? '' : s;
    const c = vm.space.memory.bytes[at]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s;
}

/** ktime, jiffies, prandom, smp_processor_id, numa_node_id and trace_printk, bound to `env`. */
export function baseHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [BpfFuncId.ktime_get_ns, () => env.clock.monotonic()],
    [BpfFuncId.ktime_get_coarse_ns, () => env.clock.monotonic()],
    [BpfFuncId.ktime_get_boot_ns, () => env.clock.boot()],
    [BpfFuncId.ktime_get_tai_ns, () => env.clock.tai()],
    // jiffies start at INITIAL_JIFFIES (-300 s worth, wrapping) in the kernel; here at 0 for monotonic 0.
    [BpfFuncId.jiffies64, () => (env.clock.monotonic() * BigInt(env.hz)) / 1_000_000_000n],
    [BpfFuncId.get_prandom_u32, () => env.random() >>> 0],
    [BpfFuncId.get_smp_processor_id, () => env.cpu],
    [BpfFuncId.get_numa_node_id, () => 0],
    // One simulated CPU runs one program at a time: locks are always free.
    [BpfFuncId.spin_lock, () => 0],
    [BpfFuncId.spin_unlock, () => 0],
    [
      BpfFuncId.trace_printk,
      (vm) => {
        const size = argU32(vm, 2);
        if (size === 0) return -22;
        const fmt = helperRead(vm, Number(vm.reg(1)), size);
        const r = formatTracePrintk(fmt, [vm.reg(3), vm.reg(4), vm.reg(5)], (a) => readCString(vm, a, MAX_BPRINTF_BUF));
        if ('errno' in r) return r.errno;
        env.trace(r.line.slice(0, MAX_BPRINTF_BUF - 1));
        return r.line.length;
      },
    ],
  ]);
}
