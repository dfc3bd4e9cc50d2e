// Public API of the program types (pure: runs in a browser): ops, contexts, helpers.

export type { ContextInstance, ContextOptions, CtxAccess, CtxAccessCheck, CtxAccessDenied, CtxValueType, ProgramTypeOps, RunInput, RunnableProgramType } from './program-type-ops.js';
export { DEFAULT_KERNEL_TRAITS, kernelTraits, type KernelTraits, type SockRxQueueMappingRead } from './kernel-traits.js';
export { programTypeOps, PROGRAM_TYPE_OPS, isRunnable, verifierOps, VERIFIER_ONLY_OPS } from './registry.js';
export { skReuseportOps, skReuseportCheckAccess, SkReuseportMd, SK_REUSEPORT_MD_SIZE } from './sk-reuseport.js';
export { skMsgOps, skSkbOps, skMsgCheckAccess, skSkbCheckAccess, SkMsgMd, SK_MSG_MD_SIZE } from './sk-msg.js';
export { cgroupSockOps, cgroupSockCheckAccess } from './cgroup-sock.js';
export { BpfSock, BPF_SOCK_SIZE } from './test-run-sock.js';
export { sockOpsOps, sockOpsCheckAccess, BpfSockOps, BPF_SOCK_OPS_SIZE } from './sock-ops.js';
export { cgroupSockAddrOps, sockAddrCheckAccess, BpfSockAddr, BPF_SOCK_ADDR_SIZE, SOCK_ADDR_ATTACH_TYPES } from './cgroup-sock-addr.js';
export { cgroupSysctlOps, sysctlCheckAccess, BPF_SYSCTL_SIZE } from './cgroup-sysctl.js';
export { cgroupSockoptOps, sockoptCheckAccess, BpfSockopt, BPF_SOCKOPT_SIZE } from './cgroup-sockopt.js';
export { cgroupDeviceOps, cgroupDevCheckAccess, BPF_CGROUP_DEV_CTX_SIZE } from './cgroup-device.js';
export { cgroupHelperAllowed } from './cgroup-helpers.js';
export { kprobeOps, tracepointOps, rawTracepointOps, rawTracepointWritableOps, syscallOps, perfEventOps, kprobeCheckAccess, tracepointCheckAccess, rawTracepointCheckAccess, rawTracepointWritableCheckAccess, syscallCheckAccess, perfEventCheckAccess, PT_REGS_SIZE, PERF_MAX_TRACE_SIZE, BPF_PERF_EVENT_DATA_SIZE, SYSCALL_CTX_MAX } from './tracing-types.js';
export { xdpOps, xdpCheckAccess } from './xdp.js';
export { tcOps, tcActOps, tcCheckAccess } from './tc.js';
export { socketFilterOps, socketFilterCheckAccess } from './socket-filter.js';
export { cgroupSkbOps, cgroupSkbCheckAccess, SockFieldsSkbContext } from './cgroup-skb.js';
export { lwtInOps, lwtOutOps, lwtXmitOps, lwtSeg6localOps, lwtCheckAccess } from './lwt.js';
export { flowDissectorOps, flowDissectorCheckAccess, FlowDissectorContext, BpfFlowKeys, BPF_FLOW_KEYS_SIZE, BpfFlowDissectorFlags, FLOW_DISSECTOR_MAX_DATA } from './flow-dissector.js';
export { skLookupOps, skLookupCheckAccess, SkLookupContext, BpfSkLookup, BPF_SK_LOOKUP_SIZE, SkLookupFlags } from './sk-lookup.js';
export { netfilterOps, netfilterCheckAccess, NetfilterContext, NfHookState, NfInetHook, NfProto, BPF_NF_CTX_SIZE, NF_HOOK_STATE_SIZE } from './netfilter.js';
export { SkBuff, SK_BUFF_SIZE, skBuffFieldAt, skbIsValidAccess, type SkBuffField } from './sk-buff.js';
export { SkbContext, PacketType, SKB_HEADROOM, SKB_MAX_DATA, SKB_MAX_LEN, ethTypeTrans, packetType, type SkbContextOptions, type SkbFlavour } from './skb-context.js';
export { XdpContext, XdpMd, XDP_MD_SIZE, XDP_PACKET_HEADROOM, XDP_TAILROOM, XDP_FRAME_SIZE, XDP_MAX_LINEAR, XDP_METALEN_MAX, xdpMetalenInvalid, type XdpContextOptions } from './xdp-buff.js';
export { LOOPBACK, deviceTable, type NetDevice } from './net-device.js';
export {
  createHelpers,
  createHelperEnv,
  helperLabel,
  progArrayTailCalls,
  fibLookup,
  FibLookup,
  FIB_LOOKUP_SIZE,
  formatTracePrintk,
  MAX_BPRINTF_BUF,
  type FibDevice,
  type FibNeighbour,
  type FibRoute,
  type FibTable,
  type HelperClock,
  type HelperEnv,
  type HelperEnvOptions,
  type HelperEnvWithLog,
  type HelperTask,
  type RedirectTarget,
  type ClonedPacket,
  type TracePrintkResult,
} from './helpers/index.js';
export {
  HelperSet,
  HelperRefusedError,
  REFUSED_HELPERS,
  refusedReason,
  MAX_BPRINTF_VARARGS,
  currentTunnel,
  BpfTunnelKey,
  TUNNEL_KEY_SIZE,
  BpfTcpSock,
  BPF_TCP_SOCK_SIZE,
  TCP_SOCK_DEFAULTS,
} from './helpers/index.js';
export { MODELLED_HELPERS, helperModel, type HelperModel } from './helpers/modelled.js';
export { ModelError } from './model-error.js';
export { KernCtxFieldError } from './kfuncs/kern-ctx.js';
export { parseKernelModel, type KernelModel } from './kernel-model.js';
export { lookupSocket, validateSocketTable, TcpState, type LookupScope, type ModelSocket, type SocketStateName, type SocketTable, type SocketTuple, type TcpSockField } from './socket-model.js';
export { tunnelInfoFromModel, TunnelFlagBit, TUNNEL_OPTS_MAX, type TunnelInfo, type TunnelModel } from './tunnel-model.js';
