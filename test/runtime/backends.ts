// The backends of the differential suite: bpfkit's userspace runtime and the kernel (BPF_PROG_TEST_RUN).
// The userspace runtime joins twice: with the reference interpreter and with the Wasm JIT.
import { BpfkitError } from '../../src/errors.js';
import type { ObjectSpec } from '../../src/elf/object-spec.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import type { Sys } from '../../src/kernel/sys.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import type { EngineKind } from '../../src/jit/create-engine.js';

/** What one run reports: retval, data_out (and ctx_out when a ctx_in was given), or the error that stopped it. */
export type Outcome = { retval: number; dataOut: Uint8Array; ctxOut?: Uint8Array } | { error: string };

/** A loaded object under test. */
export interface LoadedObject extends Disposable {
  /** Runs `program` once on `data`, with `ctxIn` when given (BPF_PROG_TEST_RUN semantics). */
  run(program: string, data: Uint8Array, ctxIn?: Uint8Array): Outcome;
  /** Map contents in a backend-neutral form: map name -> sorted "key=value" lines (per-CPU values summed). */
  snapshot(): Map<string, string[]>;
  /** Stores `value` under `key` in `map` (per-CPU: on every CPU). */
  seed(map: string, key: Uint8Array, value: Uint8Array): void;
}

/** One way to run programs. */
export interface DiffBackend {
  readonly name: string;
  /** Loads `spec`'s `programs` with `cpus` CPUs for per-CPU maps. */
  load(spec: ObjectSpec, programs: readonly string[], cpus: number): LoadedObject;
}

/** Map types whose contents both backends can compare (fds and ids in other types differ by nature). */
export const COMPARABLE_MAP_TYPES = new Set<number>([
  BpfMapType.HASH, BpfMapType.ARRAY, BpfMapType.PERCPU_HASH, BpfMapType.PERCPU_ARRAY, BpfMapType.LRU_HASH, BpfMapType.LRU_PERCPU_HASH,
]);

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Sums per-CPU values word by word (8-, 4- or 1-byte little-endian words), as the counters they are. */
export function sumPerCpu(values: readonly Uint8Array[], valueSize: number): string {
  const w = valueSize % 8 === 0 ? 8 : valueSize % 4 === 0 ? 4 : 1;
  const words: string[] = [];
  for (let at = 0; at < valueSize; at += w) {
    let s = 0n;
    for (const v of values) {
      let x = 0n;
      for (let i = w - 1; i >= 0; i--) x = (x << 8n) | BigInt(v[at + i] ?? 0);
      s += x;
    }
    words.push(BigInt.asUintN(w * 8, s).toString(16));
  }
  return words.join('.');
}

function describe(e: unknown): string {
  if (e instanceof KernelError) return `kernel ${e.errnoName ?? e.errno}`;
  if (e instanceof BpfkitError) return `${e.code}`;
  throw e;
}

/** Programs the JIT backend ran in the interpreter instead (what the JIT could not compile): "object/program: reason". */
export const jitFallbacks: string[] = [];

/** bpfkit's userspace runtime with the given engine. */
export function userspaceBackendOf(engine: EngineKind): DiffBackend {
  return {
  name: engine,
  load(spec, programs, cpus) {
    // The verifier has its own suite against the kernel's (test/verifier); here the runtime's
    // execution is under test, so every program the kernel accepts runs.
    const obj = loadUserspace(spec, { cpus, programs, verify: false, engine });
    if (engine === 'jit') {
      for (const p of obj.programs.values()) if (p.engineFallback) jitFallbacks.push(`${p.name}: ${p.engineFallback}`);
    }
    return {
      run(program, data, ctxIn) {
        try {
          const r = obj.program(program).testRun(ctxIn ? { data, ctxIn } : { data });
          return { retval: r.retval, dataOut: r.dataOut, ...(ctxIn ? { ctxOut: r.ctxOut } : {}) };
        } catch (e) {
          return { error: describe(e) };
        }
      },
      snapshot() {
        const out = new Map<string, string[]>();
        for (const m of spec.maps) {
          const ops = obj.mapOps.get(m.name);
          if (!ops || !COMPARABLE_MAP_TYPES.has(m.type)) continue;
          const lines: string[] = [];
          const stride = (m.valueSize + 7) & ~7;
          for (let k = ops.nextKey(undefined); k; k = ops.nextKey(k)) {
            const v = ops.read(k);
            if (!v) continue;
            const values = ops.perCpu ? Array.from({ length: cpus }, (_, c) => v.subarray(c * stride, c * stride + m.valueSize)) : [v];
            lines.push(`${hex(k)}=${sumPerCpu(values, m.valueSize)}`);
          }
          out.set(m.name, lines.sort());
        }
        return out;
      },
      seed(map, key, value) {
        const ops = obj.map(map);
        let v = value;
        if (ops.perCpu) {
          const stride = (value.length + 7) & ~7;
          v = new Uint8Array(stride * cpus);
          for (let c = 0; c < cpus; c++) v.set(value, c * stride);
        }
        const err = ops.write(key, v, 0);
        if (err !== 0) throw new Error(`seed ${map}: errno ${-err}`);
      },
      [Symbol.dispose]: () => obj[Symbol.dispose](),
    };
  },
  };
}

/** bpfkit's userspace runtime with the reference interpreter. */
export const userspaceBackend: DiffBackend = userspaceBackendOf('interpreter');
/** bpfkit's userspace runtime with the WebAssembly JIT. */
export const jitBackend: DiffBackend = userspaceBackendOf('jit');

/** The running kernel: loadKernelObject + BPF_PROG_TEST_RUN; maps pinned by name go under `pinPath`. */
export function kernelBackend(sys: Sys, pinPath: string): DiffBackend {
  return {
    name: 'kernel',
    load(spec, programs) {
      const obj = loadKernelObject(sys, spec, { programs, pinPath });
      return {
        run(program, data, ctxIn) {
          try {
            const r = obj.program(program).testRun(ctxIn ? { dataIn: data, ctxIn, ctxOutSize: ctxIn.length } : { dataIn: data });
            return { retval: r.retval, dataOut: r.dataOut, ...(ctxIn && r.ctxOut ? { ctxOut: r.ctxOut } : {}) };
          } catch (e) {
            return { error: describe(e) };
          }
        },
        snapshot() {
          const out = new Map<string, string[]>();
          for (const m of spec.maps) {
            const km = obj.maps.get(m.name);
            if (!km || !COMPARABLE_MAP_TYPES.has(m.type)) continue;
            out.set(m.name, km.dump().map(([k, vs]) => `${hex(k)}=${sumPerCpu(vs, m.valueSize)}`).sort());
          }
          return out;
        },
        seed(map, key, value) {
          const km = obj.map(map);
          if (km.perCpu) km.setPerCpu(key, Array.from({ length: km.cpus }, () => value));
          else km.set(key, value);
        },
        [Symbol.dispose]: () => obj.close(),
      };
    },
  };
}

/** Possible CPUs of the host (per-CPU maps of the userspace side get as many slots). */
export const hostCpus = (sys: Sys): number => possibleCpus(sys);
