// The base helpers every program type gets: time, randomness, the CPU, and bpf_trace_printk.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { argU32, helperPtr, helperRead } from './memory.js';
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

/** The bytes of a NUL-terminated string at a virtual address, NUL included (a fault when it runs off its region). */
function readCBytes(vm: HelperContext, address: number): Uint8Array {
  const at = helperPtr(vm, address, 1, false);
  const region = vm.space.regionOf(Math.floor(address / TWO32));
  const end = region ? region.end : at + 1;
  const mem = vm.space.memory.bytes;
  const nul = mem.subarray(at, end).indexOf(0);
  if (nul < 0) throw vm.space.fault(vm.pc, Math.floor(address / TWO32), address >>> 0, end - at + 1, 'read');
  return mem.slice(at, at + nul + 1);
}

/** MAX_BPRINTF_VARARGS: bpf_snprintf's data holds at most 12 u64 arguments. */
const MAX_SNPRINTF_ARGS = 12;

/** ktime, jiffies, prandom, smp_processor_id, numa_node_id, trace_printk, snprintf and strncmp, bound to `env`. */
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
    [
      BpfFuncId.snprintf,
      (vm, r1, _r2, r3, r4) => {
        const size = argU32(vm, 2);
        const dataLen = argU32(vm, 5);
        if (dataLen % 8 !== 0 || dataLen > MAX_SNPRINTF_ARGS * 8) return -22;
        const fmt = readCBytes(vm, r3);
        const args: bigint[] = [];
        if (dataLen) {
          const raw = helperRead(vm, r4, dataLen);
          const view = new DataView(raw.buffer);
          for (let i = 0; i < dataLen; i += 8) args.push(view.getBigUint64(i, true));
        }
        const r = formatTracePrintk(fmt, args, (a) => readCString(vm, a, MAX_BPRINTF_BUF), dataLen / 8);
        if ('errno' in r) return r.errno;
        if (size > 0) {
          const out = helperPtr(vm, r1, size, true);
          const mem = vm.space.memory.bytes;
          const n = Math.min(r.line.length, size - 1);
          for (let i = 0; i < n; i++) mem[out + i] = r.line.charCodeAt(i);
          mem[out + n] = 0;
        }
        return r.line.length + 1;
      },
    ],
    [BpfFuncId.get_current_pid_tgid, () => (BigInt(env.task?.tgid ?? 0) << 32n) | BigInt(env.task?.pid ?? 0)],
    [BpfFuncId.get_current_uid_gid, () => (BigInt(env.task?.gid ?? 0) << 32n) | BigInt(env.task?.uid ?? 0)],
    [BpfFuncId.get_current_cgroup_id, () => env.task?.cgroupId ?? 0n],
    [
      BpfFuncId.get_current_comm,
      (vm, r1) => {
        // strscpy_pad: the name cut to size - 1 bytes, NUL-terminated, zero-padded to size.
        const size = argU32(vm, 2);
        const at = helperPtr(vm, r1, size, true);
        const mem = vm.space.memory.bytes;
        mem.fill(0, at, at + size);
        const name = new TextEncoder().encode(env.task?.comm ?? '').subarray(0, Math.max(0, Math.min(15, size - 1)));
        mem.set(name, at);
        return 0;
      },
    ],
    [
      BpfFuncId.strncmp,
      (vm, r1, _r2, r3) => {
        const size = argU32(vm, 2);
        const s1 = helperRead(vm, r1, size);
        const s2 = readCBytes(vm, r3);
        // The kernel's strncmp: stops at the first difference or NUL, returns -1, 0 or 1.
        for (let i = 0; i < size; i++) {
          const a = s1[i]!;
          const b = s2[i] ?? 0;
          if (a !== b) return a < b ? -1 : 1;
          if (a === 0) return 0;
        }
        return 0;
      },
    ],
  ]);
}
