// Ring buffer helpers: bpf_ringbuf_output / reserve / submit / discard / query over the maps' RingbufMap.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import { RingbufMap } from '../../maps/ringbuf.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { mapArg } from './map-helpers.js';
import { argU64, Errno, helperPtr } from './memory.js';

function ringbufArg(vm: HelperContext, env: HelperEnv, address: number, helper: string): RingbufMap {
  const map = mapArg(vm, env, address, helper);
  if (!(map instanceof RingbufMap)) throw new ExecutionError(vm.pc, `${helper}: map "${map.def.name}" is not a ring buffer`);
  return map;
}

/** The ring buffer helpers, bound to `env`. Reserved samples are remembered until submitted or discarded. */
export function ringbufHelpers(env: HelperEnv): Map<number, HelperFn> {
  const reserved = new Map<number, RingbufMap>();
  const commit = (helper: string, discard: boolean): HelperFn => (vm, r1) => {
    const rb = reserved.get(r1);
    if (!rb) throw new ExecutionError(vm.pc, `${helper}: 0x${r1.toString(16)} is not a reserved ring buffer sample`);
    reserved.delete(r1);
    rb.submit(r1, Number(argU64(vm, 2) & 0xffffffffn), discard);
    return 0;
  };
  return new Map<number, HelperFn>([
    [
      BpfFuncId.ringbuf_output,
      (vm, r1, r2, r3) => {
        const rb = ringbufArg(vm, env, r1, 'bpf_ringbuf_output');
        const flags = argU64(vm, 4);
        if (flags > 0xffffffffn) return -Errno.EINVAL;
        const at = r3 === 0 ? 0 : helperPtr(vm, r2, r3, false);
        return rb.output(vm.space.memory.bytes, at, r3, Number(flags));
      },
    ],
    [
      BpfFuncId.ringbuf_reserve,
      (vm, r1, r2) => {
        const rb = ringbufArg(vm, env, r1, 'bpf_ringbuf_reserve');
        if (argU64(vm, 3) !== 0n) return 0;
        const sample = rb.reserve(r2, 0);
        if (sample !== 0) reserved.set(sample, rb);
        return sample;
      },
    ],
    [BpfFuncId.ringbuf_submit, commit('bpf_ringbuf_submit', false)],
    [BpfFuncId.ringbuf_discard, commit('bpf_ringbuf_discard', true)],
    [BpfFuncId.ringbuf_query, (vm, r1) => ringbufArg(vm, env, r1, 'bpf_ringbuf_query').query(Number(argU64(vm, 2) & 0xffffffffn))],
  ]);
}
