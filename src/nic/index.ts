// NIC inspection, audit and tuning (`bpfkit/nic`): snapshots, audit rules, apply/restore with rollback, sysctls, queues and IRQs.
export { AUDIT_RULES, audit, activeRxQueues, BACKLOG_MIN, BACKLOG_RECOMMENDED, BUDGET_MIN, BUDGET_RECOMMENDED, XDP_SINGLE_BUFFER_MAX_MTU, type AuditRule, type Finding, type Fix, type Severity } from './audit.js';
export { describeChange, type Change } from './change.js';
export { formatCpuList, formatCpuMask, parseCpuList, parseCpuMask } from './cpu-list.js';
export { closeMatches, editDistance, FEATURE_ALIASES, resolveFeatureName, shortFeatureName, UnknownFeatureError } from './feature-names.js';
export { checkDevice, onlineCpus, parseInterrupts, readDeviceNumber, readIrqs, readQueues, writeIrqAffinity, writeQueueCpus, type InterruptRow, type IrqInfo, type QueueInfo } from './queues.js';
export { takeSnapshot, xdpModeName, type NicSnapshot, type RxCounters, type XdpAttachment, type XdpMode } from './snapshot.js';
export { HostSysctlError, inChildNetns, NIC_SYSCTLS, readSysctl, readSysctls, sysctlPath, UnknownSysctlError, writeSysctl, type SysctlInfo } from './sysctl.js';
export { ApplyError, applyChanges, applyOne, captureState, FeatureNotChangedError, inverseOf, kernelNicControl, openNicControl, parseState, restoreState, serializeState, StateFileError, type NicControl, type SavedState } from './tuning.js';
