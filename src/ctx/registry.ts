// The program types bpfkit models, by `enum bpf_prog_type` value and by name: one list.

import { programTypeByName } from '../isa/program-types.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import { cgroupSkbOps } from './cgroup-skb.js';
import { cgroupDeviceOps } from './cgroup-device.js';
import { cgroupSockOps } from './cgroup-sock.js';
import { cgroupSockAddrOps } from './cgroup-sock-addr.js';
import { cgroupSockoptOps } from './cgroup-sockopt.js';
import { cgroupSysctlOps } from './cgroup-sysctl.js';
import { flowDissectorOps } from './flow-dissector.js';
import { lwtInOps, lwtOutOps, lwtSeg6localOps, lwtXmitOps } from './lwt.js';
import { netfilterOps } from './netfilter.js';
import type { ProgramTypeOps, RunnableProgramType } from './program-type-ops.js';
import { skLookupOps } from './sk-lookup.js';
import { skReuseportOps } from './sk-reuseport.js';
import { skMsgOps, skSkbOps } from './sk-msg.js';
import { sockOpsOps } from './sock-ops.js';
import { socketFilterOps } from './socket-filter.js';
import { tcActOps, tcOps } from './tc.js';
import { kprobeOps, perfEventOps, rawTracepointOps, rawTracepointWritableOps, syscallOps, tracepointOps } from './tracing-types.js';
import { xdpOps } from './xdp.js';

/** Every program type with ops, in `enum bpf_prog_type` order. */
export const PROGRAM_TYPE_OPS: readonly RunnableProgramType[] = [socketFilterOps, tcOps, tcActOps, xdpOps, cgroupSkbOps, lwtInOps, lwtOutOps, lwtXmitOps, lwtSeg6localOps, flowDissectorOps, skLookupOps, netfilterOps];

/**
 * The ops of a program type (a BpfProgType value or bpftool's name: `xdp`, `sched_cls`,
 * `sched_act`, `socket_filter`, `cgroup_skb`, `lwt_in`...), or undefined when bpfkit does not model it.
 */
export function programTypeOps(type: number | string): RunnableProgramType | undefined {
  const value = typeof type === 'number' ? type : programTypeByName(type);
  return PROGRAM_TYPE_OPS.find((o) => o.type === value);
}

/** Program types the verifier models but userspace cannot run (the kernel has no test run for them, or their context is kernel data). */
export const VERIFIER_ONLY_OPS: readonly ProgramTypeOps[] = [kprobeOps, tracepointOps, perfEventOps, cgroupSockOps, sockOpsOps, skSkbOps, skMsgOps, rawTracepointOps, skReuseportOps, cgroupSockAddrOps, cgroupSysctlOps, cgroupSockoptOps, cgroupDeviceOps, rawTracepointWritableOps, syscallOps];

/**
 * The verifier's ops of a program type (a BpfProgType value or bpftool's name): the runnable
 * types of {@link PROGRAM_TYPE_OPS} and the verify-only ones (kprobe, tracepoint, perf_event,
 * raw_tracepoint, sk_reuseport...), or undefined when bpfkit does not model the type.
 */
export function verifierOps(type: number | string): ProgramTypeOps | undefined {
  const value = typeof type === 'number' ? type : programTypeByName(type);
  return programTypeOps(type) ?? VERIFIER_ONLY_OPS.find((o) => o.type === value);
}

/** The names of the program types the userspace runtime runs (`xdp, sched_cls, ...`), for messages. */
export function userspaceTypeNames(): string {
  return PROGRAM_TYPE_OPS.filter((o) => o.type !== BpfProgType.LWT_SEG6LOCAL).map((o) => o.name).join(', ');
}

/** Whether `ops` can run in userspace (has createContext). */
export function isRunnable(ops: ProgramTypeOps): ops is RunnableProgramType {
  return typeof (ops as Partial<RunnableProgramType>).createContext === 'function';
}
