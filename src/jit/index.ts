// Public API of the eBPF -> WebAssembly JIT (pure: runs in a browser).

export { compileProgram, type CompiledProgram, type CompileOptions, type WasmModule } from './compile.js';
export { compileCached, JitEngine, MAX_JIT_BUDGET, type JitEngineOptions } from './jit-engine.js';
export { createEngine, ENGINE_KINDS, type CreatedEngine, type EngineKind } from './create-engine.js';
