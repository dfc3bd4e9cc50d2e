// The running kernel's BTF (/sys/kernel/btf/vmlinux), read through Sys and parsed once per Sys.
import { parseBtf, type Btf } from '../../btf/index.js';
import { NotSupportedError } from '../../errors.js';
import type { Sys } from '../sys.js';

const cache = new WeakMap<Sys, Btf>();

/** Path of the kernel's own BTF. */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

/**
 * The kernel's BTF, for CO-RE relocations, kfunc and ksym ids and attach targets. Throws
 * NotSupportedError when the kernel has none (CONFIG_DEBUG_INFO_BTF off).
 */
export function vmlinuxBtf(sys: Sys): Btf {
  let btf = cache.get(sys);
  if (!btf) {
    let bytes: Uint8Array;
    try {
      bytes = sys.readFile(VMLINUX_BTF_PATH);
    } catch (err) {
      throw new NotSupportedError('kernel BTF (/sys/kernel/btf/vmlinux)', '5.4', 'the kernel was built without CONFIG_DEBUG_INFO_BTF', { cause: err });
    }
    btf = parseBtf(bytes);
    cache.set(sys, btf);
  }
  return btf;
}
