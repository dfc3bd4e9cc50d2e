// bpf_perf_event_output for XDP and skb programs (bpf_xdp_event_output / bpf_skb_event_output in net/core/filter.c).

import { BpfFuncId } from '../../isa/uapi.generated.js';
import { PerfEventArray } from '../../maps/perf-event-array.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { SkbContext } from '../skb-context.js';
import { XdpContext } from '../xdp-buff.js';
import type { HelperEnv } from './env.js';
import { mapArg } from './map-helpers.js';
import { Errno, helperPtr } from './memory.js';

/** BPF_F_CURRENT_CPU: the index meaning "this CPU's slot". */
const CURRENT_CPU = 0xffffffff;
/** BPF_F_CTXLEN_MASK's bits in the high word of flags: how many packet bytes to append. */
const CTXLEN_MASK_HI = 0xfffff;

/** The context bytes a sample appends: the first `n` bytes of the packet from `data` (fragments included). */
function contextBytes(vm: HelperContext, env: HelperEnv, n: number): Uint8Array | number {
  const c = env.context;
  const mem = vm.space.memory.bytes;
  if (c instanceof XdpContext) {
    if (n > c.buffLen()) return -Errno.EFAULT;
    const out = new Uint8Array(n);
    c.copyBytes(0, n, out, 0, false);
    return out;
  }
  if (c instanceof SkbContext) {
    if (n > c.len) return -Errno.EFAULT;
    return mem.slice(c.data, c.data + n);
  }
  throw new ExecutionError(vm.pc, 'bpf_perf_event_output needs an XDP or skb context');
}

/** `long bpf_perf_event_output(ctx, map, u64 flags, void *data, u64 size)`, bound to `env`. */
export function perfOutputHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.perf_event_output,
      (vm, _ctx, mapAddr, _flags, data, size) => {
        const map = mapArg(vm, env, mapAddr, 'bpf_perf_event_output');
        const index = vm.regLo(3) >>> 0;
        const hi = vm.regHi(3) >>> 0;
        if ((hi & ~CTXLEN_MASK_HI) !== 0) return -Errno.EINVAL;
        const at = size === 0 ? 0 : helperPtr(vm, data, size, false);
        const meta = vm.space.memory.bytes.slice(at, at + size);
        const ctxBytes = contextBytes(vm, env, hi & CTXLEN_MASK_HI);
        if (typeof ctxBytes === 'number') return ctxBytes;
        if (!(map instanceof PerfEventArray)) return -Errno.EINVAL; // the verifier allows only perf event arrays
        return map.output(index === CURRENT_CPU ? env.cpu : index, env.cpu, [meta, ctxBytes]);
      },
    ],
  ]);
}
