// bpf_csum_diff: the checksum difference between two buffers of 32-bit words, plus a seed.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperFn } from '../../vm/helpers.js';
import { csumFrom32To16, csumPartial, csumSub } from './csum.js';
import { argU32, helperPtr } from './memory.js';

/**
 * bpf_csum_diff(from, from_size, to, to_size, seed): csum_partial(to) - csum_partial(from) + seed
 * folded to 16 bits, as Linux (since 6.13) computes it on every architecture — any sizes (the
 * verifier bounds them), no -EINVAL; with both sizes 0, the folded seed.
 */
export function csumDiffHelpers(): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.csum_diff,
      (vm, r1, _r2, r3) => {
        const fromSize = argU32(vm, 2);
        const toSize = argU32(vm, 4);
        const seed = argU32(vm, 5);
        const mem = vm.space.memory.bytes;
        const from = fromSize ? helperPtr(vm, r1, fromSize, false) : 0;
        const to = toSize ? helperPtr(vm, r3, toSize, false) : 0;
        if (fromSize && toSize) return csumFrom32To16(csumSub(csumPartial(mem, to, toSize, seed), csumPartial(mem, from, fromSize, 0)));
        if (toSize) return csumFrom32To16(csumPartial(mem, to, toSize, seed));
        if (fromSize) return csumFrom32To16(~csumPartial(mem, from, fromSize, ~seed >>> 0) >>> 0);
        return csumFrom32To16(seed);
      },
    ],
  ]);
}
