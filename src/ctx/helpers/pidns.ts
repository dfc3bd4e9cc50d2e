// bpf_get_ns_current_pid_tgid: the current task's pid and tgid as seen from a pid namespace named by device and inode.

import { BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';

/** sizeof(struct bpf_pidns_info): u32 pid, u32 tgid. */
const PIDNS_INFO_SIZE = 8;

/**
 * bpf_get_ns_current_pid_tgid(dev, ino, nsdata, size) as kernel/bpf/helpers.c: size must be 8
 * and dev fit a dev_t (u32), and (dev, ino) must name the task's active pid namespace
 * (`env.task.pidNamespace`); otherwise -EINVAL with nsdata zeroed.
 */
export function pidnsHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.get_ns_current_pid_tgid,
      (vm, _r1, _r2, r3) => {
        const size = argU32(vm, 4);
        const dev = argU64(vm, 1);
        const ino = argU64(vm, 2);
        const at = size === 0 ? 0 : helperPtr(vm, r3, size, true);
        const ns = env.task?.pidNamespace;
        if (size !== PIDNS_INFO_SIZE || dev > 0xffffffffn || !ns || ns.dev !== dev || ns.ino !== ino) {
          vm.space.memory.bytes.fill(0, at, at + size);
          return -Errno.EINVAL;
        }
        const v = vm.space.memory.view;
        v.setUint32(at, env.task?.pid ?? 0, true);
        v.setUint32(at + 4, env.task?.tgid ?? 0, true);
        return 0;
      },
    ],
  ]);
}
