// Public API of the debugger (pure: runs in a browser): sessions, the DAP server, the REPL.

export { DapProtocolError, DebugStateError, ExpressionError } from './errors.js';
export { compileExpression, evaluateExpression, formatValue, type CompiledExpression, type EvalScope } from './expression.js';
export { ProgramInfo, resolveLine, sameFile, type FunctionRange, type ResolvedLine } from './source-map.js';
export { recordVerifierViews, type InsnView, type RegisterView, type VerifierViews } from './verifier-view.js';
export {
  DebugSession,
  type Breakpoint,
  type DebugFrame,
  type DebugPacket,
  type DebugSessionOptions,
  type Granularity,
  type HelperCall,
  type InstructionBreakpointRequest,
  type LineBreakpointRequest,
  type PacketResult,
  type StopInfo,
  type StopReason,
} from './session.js';
export { frameScopes, registerViews, verifierNodes, type ViewNode, type ViewScope } from './views.js';
export { DapServer, type DapMessage, type DapServerOptions } from './dap.js';
export { DapFramer, encodeDapMessage, MAX_DAP_MESSAGE } from './dap-framing.js';
export { DebugRepl, REPL_HELP } from './repl.js';
