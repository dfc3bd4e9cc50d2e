// Public API of the userspace runtime engine (pure: runs in a browser).

export { ByteListError, InstantiateError, MapNotFoundError, ProgramNotFoundError, RelocationError, TestRunRefusedError } from './errors.js';
export { unmodelledCalls } from './unmodelled-calls.js';
export { UnmodelledCallError, type CalleeKind } from '../vm/errors.js';
export type { UnmodelledCall } from '../vm/program.js';
export type { UnmodelledCallee } from '../vm/helpers.js';
export { formatByteList, parseByteList } from './byte-list.js';
export { verdictClass, verdictName, VerdictCounter, type VerdictClass, type VerdictRow } from './verdicts.js';
export { createRunContext, type PacketOrigin, type RunContext } from './run-context.js';
export { defaultVerify, type VerifyFn } from './verify-hook.js';
export {
  DEFAULT_RUN_BUDGET, UserspaceProgram, type ProgramHost, type ProgramRunOptions, type TestRunInput, type TestRunOutput,
} from './userspace-program.js';
export { loadUserspace, UserspaceObject, type LoadUserspaceOptions, type RuntimeState } from './userspace-object.js';
export { formatDecoded, summarizeMap, type DecodedValue, type MapSummary, type SummaryEntry } from './map-summary.js';
export {
  Pipeline, runCapture, type CpuCount, type CpumapResult, type PacketFault, type PacketSink, type PipelineOptions, type PipelineProgress, type PipelineResult,
} from './pipeline.js';
export {
  actionNames, continuesChain, DEFAULT_CHAIN_CALL_ACTIONS, DEFAULT_XDP_PRIORITY, parseActions, parsePriority, sortChain, XDP_ACTION_NAMES, XDP_DISPATCHER_RETVAL, xdpRunConfig, XdpRunConfigError, type ChainOrderKey, type XdpRunConfig,
} from './xdp-run-config.js';
export { runChainCapture, XdpChain, type XdpChainMember, type XdpChainOutcome, type XdpChainProgramCounts, type XdpChainResult } from './xdp-chain.js';
