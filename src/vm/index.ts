// Public API of the userspace runtime (pure: runs in a browser).

export * from './errors.js';
export { AddressSpace, Region, TAG_BASE, REGION_HOOKED, REGION_WRITABLE, REGION_ENTRY_SIZE, REGION_TABLE_HEADER, type LoadHook, type RegionKind, type RegionOptions } from './address-space.js';
export { LinearMemory, RESERVED_LOW, WASM_PAGE, type WasmMemory } from './memory.js';
export { divModS64, divModU64, mul64, mulHighU32, splitU64, toBigUint64, toNumber } from './int64.js';
export { prepareProgram, HANDLERS, FUNC_TAG, type HandlerName, type LdResolver, type PreparedProgram, type PrepareOptions, type ResolvedValue, type UnmodelledCall } from './program.js';
export { builtinHelpers, unmodelledCall, unmodelledCallee, xorshift32, type BuiltinHelperOptions, type HelperContext, type HelperFn, type HelperTable, type TailCallHook, type UnmodelledCallee } from './helpers.js';
export {
  BPF_MAX_LOOPS,
  DEFAULT_BUDGET,
  Interpreter,
  MAX_CALL_FRAMES,
  MAX_TAIL_CALL_CNT,
  SKF_LL_OFF,
  SKF_NET_OFF,
  STACK_SIZE,
  type InterpreterOptions,
  type StepHook,
  type SkbData,
} from './interpreter.js';
export { XdpContext, XdpMd, XDP_MD_SIZE, XDP_PACKET_HEADROOM, XDP_TAILROOM } from './xdp-context.js';
export { createVm, createXdpVm, run, type RunOptions, type RunResult, type Vm, type XdpVm } from './run.js';
export type { Engine } from './engine.js';
