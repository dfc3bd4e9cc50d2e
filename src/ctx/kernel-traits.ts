// Behaviours that differ between builds of one kernel version (config options, backports): data the runtime is given.
//
// Two machines running "6.18" can answer the same BPF_PROG_TEST_RUN differently because their
// configs differ. The userspace runtime cannot ask a kernel (the pure core touches no OS), so
// each such behaviour is a named trait with a documented default; src/kernel/kernel-traits.ts
// probes the running kernel for them, and the differential tests pass the probed traits.

/**
 * How a load of `__sk_buff->sk->rx_queue_mapping` reads the test run's socket, which has no
 * queue mapping (NO_QUEUE_MAPPING, 0xffff), as the kernel's convert_ctx_access rewrites it:
 * - `'u32'`: `r = *(u16 *)&sk->sk_rx_queue_mapping; if r == 0xffff: w = -1`, then the narrow-load
 *   mask — a 4-byte load reads 0xffffffff (zero-extended), a 2-byte one 0xffff. Seen on 6.18 builds
 *   with CONFIG_SOCK_RX_QUEUE_MAPPING (the common distribution config).
 * - `'s64'`: `r = -1` (64-bit) for 2- and 4-byte loads, no mask. Seen on other 6.18 builds.
 */
export type SockRxQueueMappingRead = 'u32' | 's64';

/** Build-dependent behaviours of the kernel whose results the runtime reproduces. */
export interface KernelTraits {
  /** See {@link SockRxQueueMappingRead}. */
  readonly sockRxQueueMapping: SockRxQueueMappingRead;
}

/** The defaults: a 6.18 build with the common distribution config. */
export const DEFAULT_KERNEL_TRAITS: KernelTraits = Object.freeze({ sockRxQueueMapping: 'u32' });

/** `traits` completed with the defaults. */
export function kernelTraits(traits: Partial<KernelTraits> = {}): KernelTraits {
  return { ...DEFAULT_KERNEL_TRAITS, ...traits };
}
