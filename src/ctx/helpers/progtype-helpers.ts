// Helper flavours specific to one program type: the flow dissector's bpf_skb_load_bytes, sk_lookup's bpf_sk_assign, lwt_in/lwt_xmit's bpf_lwt_push_encap.

import { BpfFuncId, BpfProgType } from '../../isa/uapi.generated.js';
import type { HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { lwtEncapHelpers } from './lwt-encap.js';
import { argU32, Errno, helperPtr } from './memory.js';
import { skLookupAssign } from '../sk-lookup.js';

/**
 * bpf_flow_dissector_load_bytes: reads from ctx->skb, which a test run (bpfkit's only way to run
 * a flow dissector) leaves NULL, so every call zeroes the buffer and returns -EFAULT, as the
 * kernel's test run does.
 */
const flowDissectorLoadBytes: HelperFn = (vm, _r1, _r2, r3) => {
  const len = argU32(vm, 4);
  const to = helperPtr(vm, r3, len, true);
  vm.space.memory.bytes.fill(0, to, to + len);
  return -Errno.EFAULT;
};

/** The helpers program type `type` gets in a flavour of its own, bound to `env` (they replace the common ones). */
export function progTypeHelpers(env: HelperEnv, type: number): Map<number, HelperFn> {
  switch (type) {
    case BpfProgType.FLOW_DISSECTOR:
      return new Map([[BpfFuncId.skb_load_bytes, flowDissectorLoadBytes]]);
    case BpfProgType.SK_LOOKUP:
      return new Map([[BpfFuncId.sk_assign, (vm) => skLookupAssign(vm, env)]]);
    case BpfProgType.LWT_IN:
    case BpfProgType.LWT_XMIT:
      return lwtEncapHelpers(env, type);
    default:
      return new Map();
  }
}
