// Tracing and cgroup attach failures as typed errors: no such tracepoint / function / cgroup, tracing refused.
import { BpfkitError } from '../../errors.js';

/** The tracepoint (`skb:kfree_skb`) or raw tracepoint (`kfree_skb`) does not exist in this kernel. */
export class TracepointNotFoundError extends BpfkitError {
  constructor(
    /** As the caller spelled it: `'skb:kfree_skb'`, or a raw tracepoint's bare name. */
    readonly tracepoint: string,
    /** Where it was looked up (`'/sys/kernel/tracing/events'`, `'BPF_RAW_TRACEPOINT_OPEN'`). */
    readonly where: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_NO_SUCH_TRACEPOINT', `no tracepoint ${JSON.stringify(tracepoint)} in this kernel (looked up in ${where})`, options);
  }
}

/** tracefs is not mounted where tracepoint ids are read from. */
export class TracefsNotMountedError extends BpfkitError {
  constructor(readonly tried: readonly string[]) {
    super('ERR_TRACEFS_NOT_MOUNTED', `tracefs is not mounted (tried ${tried.join(', ')}); mount it with: mount -t tracefs nodev /sys/kernel/tracing`);
  }
}

/** A kernel function (or a function of a BPF program's BTF) to trace does not exist. */
export class FunctionNotFoundError extends BpfkitError {
  constructor(
    /** The function name. */
    readonly func: string,
    /** Where it was looked up (`'vmlinux BTF'`, `'the BTF of prog 42'`, `'/proc/kallsyms'`). */
    readonly where: string,
  ) {
    super('ERR_NO_SUCH_FUNCTION', `no function ${JSON.stringify(func)} in ${where}`);
  }
}

/**
 * The kernel refused a tracing-type program (fentry, fexit, fmod_ret, freplace, tp_btf): EPERM
 * even for root on kernels built or booted to forbid them. bpfkit takes no silent fallback.
 */
export class TracingRefusedError extends BpfkitError {
  constructor(
    /** `'fentry'`, `'fexit'`, `'fmod_ret'`, `'freplace'`... */
    readonly kind: string,
    /** The function traced. */
    readonly target: string,
    /** The kernel's errno name (`'EPERM'`). */
    readonly errnoName: string,
    /** Whether the process was root when refused. */
    readonly asRoot: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      'ERR_TRACING_REFUSED',
      `${kind}/${target}: the kernel refused the tracing program (BPF_PROG_TYPE_TRACING) with ${errnoName}` +
        (asRoot
          ? ' although the process is root: this kernel forbids fentry/fexit/fmod_ret/freplace programs (lockdown, or a build without trampolines); attach a kprobe, tracepoint or raw tracepoint instead'
          : ': tracing programs need CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)'),
      options,
    );
  }
}

/** The cgroup path does not exist or is not a cgroup v2 directory. */
export class CgroupNotFoundError extends BpfkitError {
  constructor(
    /** The path given. */
    readonly path: string,
    /** Why: `'no such directory'`, `'not a cgroup v2 directory'`. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('ERR_NO_SUCH_CGROUP', `${path}: ${reason}`, options);
  }
}
