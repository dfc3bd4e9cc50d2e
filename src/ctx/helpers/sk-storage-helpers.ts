// bpf_sk_storage_get / bpf_sk_storage_delete over a SkStorageMap: one value per socket, keyed by the socket's address.
//
// net/core/bpf_sk_storage.c: get returns NULL for a NULL socket, one that is no full socket
// (TIME_WAIT, NEW_SYN_RECV) or flags above BPF_SK_STORAGE_GET_F_CREATE; the socket's value when
// it has one; with F_CREATE a new value initialised from `value` (zeros when NULL). delete:
// -EINVAL for a NULL socket, -ENOENT when the socket has no value. The socket of a test run
// (skb->sk, src/ctx/test-run-sock.ts) is a new one in each BPF_PROG_TEST_RUN, so its values start
// afresh each test run (the runtime drops them: `SkStorageMap.remove`); sockets of the user's
// socket model keep theirs.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import { SkStorageMap } from '../../maps/sk-storage.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { BpfSock } from '../test-run-sock.js';
import type { HelperEnv } from './env.js';
import { mapArg } from './map-helpers.js';
import { argU64, Errno, helperPtr } from './memory.js';

const BPF_SK_STORAGE_GET_F_CREATE = 1n;
const TCP_TIME_WAIT = 6;
const TCP_NEW_SYN_RECV = 12;

function storageArg(vm: HelperContext, env: HelperEnv, address: number, helper: string): SkStorageMap {
  const map = mapArg(vm, env, address, helper);
  if (!(map instanceof SkStorageMap)) throw new ExecutionError(vm.pc, `${helper}: map "${map.def.name}" is not a socket storage`);
  return map;
}

/** sk_fullsock: not a TIME_WAIT or NEW_SYN_RECV mini socket (struct bpf_sock's state). */
function fullSock(vm: HelperContext, sk: number): boolean {
  const at = helperPtr(vm, sk + BpfSock.state, 4, false);
  const state = vm.space.memory.view.getUint32(at, true);
  return state !== TCP_TIME_WAIT && state !== TCP_NEW_SYN_RECV;
}

/** The socket storage helpers, bound to `env`. */
export function skStorageHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.sk_storage_get,
      (vm, mapAddr, sk, value) => {
        const map = storageArg(vm, env, mapAddr, 'bpf_sk_storage_get');
        const flags = argU64(vm, 4);
        if (sk === 0 || flags > BPF_SK_STORAGE_GET_F_CREATE || !fullSock(vm, sk)) return 0;
        const found = map.storage(sk, false);
        if (found !== 0 || flags !== BPF_SK_STORAGE_GET_F_CREATE) return found;
        let init: Uint8Array | undefined;
        if (value !== 0) {
          const at = helperPtr(vm, value, map.def.valueSize, false);
          init = vm.space.memory.bytes.slice(at, at + map.def.valueSize);
        }
        return map.storage(sk, true, init);
      },
    ],
    [
      BpfFuncId.sk_storage_delete,
      (vm, mapAddr, sk) => {
        const map = storageArg(vm, env, mapAddr, 'bpf_sk_storage_delete');
        if (sk === 0) return -Errno.EINVAL;
        return map.remove(sk);
      },
    ],
  ]);
}
