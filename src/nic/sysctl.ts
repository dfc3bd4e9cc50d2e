// The sysctls that matter for packet processing, read and written under /proc/sys through Sys.
import { BpfkitError } from '../errors.js';
import { isErrno } from '../kernel/kernel-error.js';
import type { Sys } from '../kernel/sys.js';

/** What one sysctl does for packet processing (shown by `nic sysctl` and used by the audit). */
export interface SysctlInfo {
  readonly name: string;
  readonly role: string;
}

/** The sysctls bpfkit reads by default, in display order. */
export const NIC_SYSCTLS: readonly SysctlInfo[] = [
  { name: 'net.core.netdev_max_backlog', role: 'packets queued per CPU before the stack drops (RPS, generic XDP, veth)' },
  { name: 'net.core.netdev_budget', role: 'packets one NAPI softirq round may process across devices' },
  { name: 'net.core.netdev_budget_usecs', role: 'microseconds one NAPI softirq round may run' },
  { name: 'net.core.dev_weight', role: 'packets per NAPI poll of the backlog device' },
  { name: 'net.core.rmem_max', role: 'largest socket receive buffer an application may set' },
  { name: 'net.core.wmem_max', role: 'largest socket send buffer an application may set' },
  { name: 'net.core.busy_poll', role: 'microseconds poll/select busy-wait on a device queue (0: off)' },
  { name: 'net.core.busy_read', role: 'microseconds a blocking read busy-waits (0: off)' },
  { name: 'net.core.bpf_jit_enable', role: 'BPF JIT: 1 on, 0 interpreter only' },
  { name: 'net.core.bpf_jit_harden', role: 'constant blinding in the JIT (costs speed): 0 off, 1 unprivileged, 2 all' },
  { name: 'net.core.bpf_jit_kallsyms', role: 'JITed programs visible in /proc/kallsyms (for perf)' },
  { name: 'net.core.rps_sock_flow_entries', role: 'RFS global flow table size (0: RFS off)' },
];

/** A sysctl name that is malformed, or that this kernel does not have. */
export class UnknownSysctlError extends BpfkitError {
  constructor(readonly sysctl: string, detail: string) {
    super('ERR_NIC_UNKNOWN_SYSCTL', `sysctl ${sysctl}: ${detail}`);
  }
}

/** The /proc/sys path of a dotted sysctl name; rejects anything that could leave /proc/sys. */
export function sysctlPath(name: string): string {
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/i.test(name)) throw new UnknownSysctlError(name, 'not a sysctl name (expected dotted words, e.g. net.core.netdev_budget)');
  return `/proc/sys/${name.replace(/\./g, '/')}`;
}

/**
 * Whether this process is in a network namespace other than the host's: there /proc/sys/net
 * shows only the per-namespace sysctls, and host-wide ones (netdev_max_backlog, bpf_jit_*)
 * are absent — although they apply to the namespace all the same.
 */
export function inChildNetns(sys: Sys): boolean {
  const has = (p: string): boolean => {
    try {
      sys.readFile(p);
      return true;
    } catch {
      return false;
    }
  };
  // somaxconn is per-namespace; netdev_max_backlog exists in the initial namespace only.
  return has('/proc/sys/net/core/somaxconn') && !has('/proc/sys/net/core/netdev_max_backlog');
}

/** A host-wide sysctl read from inside a network namespace, which cannot see it. */
export class HostSysctlError extends UnknownSysctlError {
  constructor(sysctl: string) {
    super(sysctl, 'host-wide, not visible inside this network namespace (it applies here all the same; read it on the host)');
  }
}

/** Reads one sysctl's value (trimmed). ENOENT becomes {@link UnknownSysctlError} ({@link HostSysctlError} inside a network namespace). */
export function readSysctl(sys: Sys, name: string): string {
  const path = sysctlPath(name);
  try {
    return new TextDecoder().decode(sys.readFile(path)).trim();
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw name.startsWith('net.') && inChildNetns(sys) ? new HostSysctlError(name) : new UnknownSysctlError(name, 'no such sysctl on this kernel');
    throw e;
  }
}

/** Writes one sysctl (the kernel's errors, such as EINVAL for an out-of-range value, pass through as KernelError). */
export function writeSysctl(sys: Sys, name: string, value: string): void {
  const path = sysctlPath(name);
  if (!/^[\x20-\x7e\t]*$/.test(value)) throw new UnknownSysctlError(name, `value ${JSON.stringify(value)} is not printable text`);
  try {
    sys.writeFile(path, new TextEncoder().encode(`${value}\n`));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new UnknownSysctlError(name, 'no such sysctl on this kernel');
    throw e;
  }
}

/** Reads several sysctls; a missing or unreadable one maps to undefined instead of failing the lot. */
export function readSysctls(sys: Sys, names: readonly string[] = NIC_SYSCTLS.map((s) => s.name)): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const n of names) {
    try {
      out[n] = readSysctl(sys, n);
    } catch {
      out[n] = undefined;
    }
  }
  return out;
}
