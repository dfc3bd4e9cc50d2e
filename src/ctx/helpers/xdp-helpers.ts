// XDP helpers: bpf_xdp_adjust_head/tail/meta, buff length, load/store bytes, redirect and redirect_map.

import { BpfFuncId, BpfMapType, BpfRedirectFlags, XdpAction } from '../../isa/uapi.generated.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { XdpContext } from '../xdp-buff.js';
import type { HelperEnv } from './env.js';
import { mapArg } from './map-helpers.js';
import { argS32, argU32, argU64, Errno, helperPtr } from './memory.js';

/** The XDP context of the running program, or an ExecutionError naming the helper. */
function xdpOf(vm: HelperContext, env: HelperEnv, helper: string): XdpContext {
  const c = env.context;
  if (!(c instanceof XdpContext)) throw new ExecutionError(vm.pc, `${helper} needs an XDP context`);
  return c;
}

/** bpf_redirect for XDP: flags must be 0 (else XDP_ABORTED); records the ifindex and returns XDP_REDIRECT. */
export function xdpRedirect(env: HelperEnv, ifindex: number, flags: bigint): number {
  if (flags !== 0n) return XdpAction.ABORTED;
  env.redirect = { kind: 'ifindex', ifindex, flags: 0 };
  return XdpAction.REDIRECT;
}

/** The XDP helpers, bound to `env`. */
export function xdpHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [BpfFuncId.xdp_adjust_head, (vm) => xdpOf(vm, env, 'bpf_xdp_adjust_head').adjustHead(argS32(vm, 2))],
    [BpfFuncId.xdp_adjust_tail, (vm) => xdpOf(vm, env, 'bpf_xdp_adjust_tail').adjustTail(argS32(vm, 2))],
    [BpfFuncId.xdp_adjust_meta, (vm) => xdpOf(vm, env, 'bpf_xdp_adjust_meta').adjustMeta(argS32(vm, 2))],
    [BpfFuncId.xdp_get_buff_len, (vm) => xdpOf(vm, env, 'bpf_xdp_get_buff_len').buffLen()],
    [
      BpfFuncId.xdp_load_bytes,
      (vm, _r1, _r2, r3) => {
        const x = xdpOf(vm, env, 'bpf_xdp_load_bytes');
        const offset = argU32(vm, 2);
        const len = argU32(vm, 4);
        const to = helperPtr(vm, r3, len, true);
        if (offset > 0xffff || len > 0xffff) return -Errno.EFAULT;
        if (offset + len > x.buffLen()) return -Errno.EINVAL;
        x.copyBytes(offset, len, vm.space.memory.bytes, to, false);
        return 0;
      },
    ],
    [
      BpfFuncId.xdp_store_bytes,
      (vm, _r1, _r2, r3) => {
        const x = xdpOf(vm, env, 'bpf_xdp_store_bytes');
        const offset = argU32(vm, 2);
        const len = argU32(vm, 4);
        const from = helperPtr(vm, r3, len, false);
        if (offset > 0xffff || len > 0xffff) return -Errno.EFAULT;
        if (offset + len > x.buffLen()) return -Errno.EINVAL;
        x.copyBytes(offset, len, vm.space.memory.bytes, from, true);
        return 0;
      },
    ],
    [
      BpfFuncId.redirect_map,
      (vm, r1) => {
        const map = mapArg(vm, env, r1, 'bpf_redirect_map');
        const key = argU32(vm, 2);
        const flags = argU64(vm, 3);
        // The low bits are the action to return when the lookup fails (XDP_ABORTED..XDP_TX).
        const actionMask = 3n;
        const devmap = map.def.type === BpfMapType.DEVMAP || map.def.type === BpfMapType.DEVMAP_HASH;
        const flagMask = devmap ? BigInt(BpfRedirectFlags.BROADCAST | BpfRedirectFlags.EXCLUDE_INGRESS) : 0n;
        if ((flags & ~(actionMask | flagMask)) !== 0n) return XdpAction.ABORTED;
        const broadcast = (flags & BigInt(BpfRedirectFlags.BROADCAST)) !== 0n;
        const keyBytes = new Uint8Array(4);
        new DataView(keyBytes.buffer).setUint32(0, key, true);
        const found = map.def.keySize === 4 ? map.lookup(keyBytes, 0, env.cpu) !== 0 : false;
        if (!found && !broadcast) {
          env.redirect = undefined;
          return Number(flags & actionMask);
        }
        env.redirect = { kind: 'map', map, key, flags: Number(flags & flagMask) };
        return XdpAction.REDIRECT;
      },
    ],
  ]);
}
