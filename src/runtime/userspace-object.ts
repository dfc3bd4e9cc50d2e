// loadUserspace(): instantiate an ObjectSpec in userspace — one address space, maps, programs, tail calls.

import type { MapSpec, ObjectSpec } from '../elf/object-spec.js';
import type { Instruction } from '../isa/instruction.js';
import { PseudoLd } from '../isa/opcodes.js';
import { BpfFuncId, BpfMapType } from '../isa/uapi.generated.js';
import { ArrayMap, ProgArrayOps } from '../maps/array.js';
import type { MapDef, MapOps } from '../maps/map-ops.js';
import { createMap } from '../maps/registry.js';
import { AddressSpace } from '../vm/address-space.js';
import { builtinHelpers, type HelperFn, type HelperTable, type TailCallHook } from '../vm/helpers.js';
import { DEFAULT_BUDGET } from '../vm/interpreter.js';
import { prepareProgram, type PreparedProgram, type ResolvedValue } from '../vm/program.js';
import { BpfkitError } from '../errors.js';
import { InstantiateError, MapNotFoundError, ProgramNotFoundError, RelocationError } from './errors.js';
import { mapHelpers } from './map-helpers.js';
import { UserspaceProgram, type ProgramHost } from './userspace-program.js';
import { defaultVerify, type VerifyFn } from './verify-hook.js';

const TWO32 = 4294967296;

/** Options of {@link loadUserspace}. */
export interface LoadUserspaceOptions {
  /** Simulated CPUs: per-CPU maps get this many slots per value (default 1). */
  cpus?: number;
  /**
   * The verifier run on each program before it is prepared; `false` skips it. Default
   * {@link defaultVerify} (bpfkit's verifier once it lands).
   */
  verify?: VerifyFn | false;
  /** Helper implementations by id, replacing the runtime's own (a fixed clock, a fake fib table...). */
  helpers?: ReadonlyMap<number, HelperFn>;
  /** `bpf_ktime_get_ns` source (default: a counter, deterministic). */
  clock?: () => number | bigint;
  /** `bpf_get_prandom_u32` source (default: seeded xorshift32). */
  random?: () => number;
  /** Instruction budget per run (default 1M): a runaway program stops with BudgetExceeded. */
  budget?: number;
  /** Programs to instantiate (default: every program the runtime can run; unrunnable ones are listed in `skipped`). */
  programs?: readonly string[];
}

/** The state the helpers see while a program runs. */
export interface RuntimeState {
  /** CPU the current run is on. */
  cpu: number;
  /** The program that started the current run. */
  program: UserspaceProgram | undefined;
}

/**
 * An ObjectSpec living in userspace: every map and program in one address space (one
 * WebAssembly.Memory), so map pointers, global data and tail calls work across programs.
 * Disposable: after dispose, runs throw.
 */
export class UserspaceObject implements Disposable {
  /** The address space every map and program shares. */
  readonly space: AddressSpace;
  /** Number of simulated CPUs. */
  readonly cpus: number;
  /** Programs by name. */
  readonly programs = new Map<string, UserspaceProgram>();
  /** Live maps by name (the MapOps interface; programs see them through helpers). */
  readonly mapOps = new Map<string, MapOps>();
  /** Programs of the object not instantiated, with the reason (a program type the runtime cannot run). */
  readonly skipped = new Map<string, string>();
  /** What the helpers read: current CPU and program. */
  readonly state: RuntimeState = { cpu: 0, program: undefined };
  private readonly byAddress = new Map<number, MapOps>();
  private disposed = false;

  /** @internal use {@link loadUserspace}. */
  constructor(
    /** The blueprint. */
    readonly spec: ObjectSpec,
    cpus: number,
  ) {
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 1024) throw new RangeError(`cpus must be an integer in 1..1024, got ${cpus}`);
    this.cpus = cpus;
    this.space = new AddressSpace();
  }

  /** The program called `name`; ProgramNotFoundError otherwise. */
  program(name: string): UserspaceProgram {
    this.check();
    const p = this.programs.get(name);
    if (!p) throw new ProgramNotFoundError(name, [...this.programs.keys()]);
    return p;
  }

  /** The map called `name` (global data: `.data`, `.rodata`, `.bss`...); MapNotFoundError otherwise. */
  map(name: string): MapOps {
    this.check();
    const m = this.mapOps.get(name);
    if (!m) throw new MapNotFoundError(name, [...this.mapOps.keys()]);
    return m;
  }

  /** The map whose pointer (what `lddw rX, map` loads) is `address`, or undefined. */
  mapByAddress(address: number): MapOps | undefined {
    return this.byAddress.get(address);
  }

  /** @internal */
  addMap(name: string, ops: MapOps): void {
    this.mapOps.set(name, ops);
    this.byAddress.set(ops.address, ops);
  }

  private check(): void {
    if (this.disposed) throw new InstantiateError('object', 'used after dispose');
  }

  /** Releases the object: its programs and maps can no longer be used. */
  [Symbol.dispose](): void {
    this.disposed = true;
    this.programs.clear();
    this.mapOps.clear();
    this.byAddress.clear();
  }
}

/** The MapDef a MapSpec creates. */
function mapDef(m: MapSpec): MapDef {
  return {
    name: m.name,
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: m.maxEntries,
    flags: m.flags,
    ...(m.mapExtra !== undefined ? { mapExtra: m.mapExtra } : {}),
    ...(m.innerMap ? { innerMap: mapDef(m.innerMap) } : {}),
  };
}

/** The 64-bit value of a number (exact below 2^53) as halves. */
function halves(v: number): ResolvedValue {
  return { lo: v >>> 0, hi: Math.floor(v / TWO32) | 0 };
}

const KEY0 = new Uint8Array(4);

/**
 * Instantiates `spec` in userspace: creates every map in one address space (global data filled
 * from the object, `.rodata` made read-only to programs), verifies and prepares every XDP
 * program (map references resolved to map addresses, `ld.map_value` to the value's byte), fills
 * prog arrays from the object's initial entries and serves tail calls from them.
 *
 * ```ts
 * using obj = loadUserspace(loadObject(bytes), { cpus: 4 });
 * const prog = obj.program('xdp_stats_prog');
 * prog.run(packet, { cpu: 2 });            // -> retval
 * prog.testRun({ data: packet, repeat: 100 }); // -> { retval, dataOut, ctxOut, durationNs }
 * ```
 */
export function loadUserspace(spec: ObjectSpec, options: LoadUserspaceOptions = {}): UserspaceObject {
  const obj = new UserspaceObject(spec, options.cpus ?? 1);
  const env = { space: obj.space, cpus: obj.cpus, mapByAddress: (a: number) => obj.mapByAddress(a) };

  for (const m of spec.maps) {
    let ops: MapOps;
    try {
      ops = createMap(mapDef(m), env);
    } catch (e) {
      throw e instanceof BpfkitError ? e.withContext(`map "${m.name}"`) : e;
    }
    obj.addMap(m.name, ops);
    if (m.data && m.data.length > 0) {
      const err = ops.write(KEY0, m.data.length === m.valueSize ? m.data : padTo(m.data, m.valueSize), 0);
      if (err !== 0) throw new InstantiateError(`map "${m.name}"`, `initial data not stored (errno ${-err})`);
    }
    if (m.readOnly && ops instanceof ArrayMap) {
      // .rodata: programs may read but not write the value (the kernel's BPF_F_RDONLY_PROG + freeze).
      const region = obj.space.regionOf(Math.floor(ops.valueAddress(0) / TWO32));
      if (region) obj.space.setWritable(region, false);
    }
  }

  const tailCalls: TailCallHook = {
    resolve: (_vm, progArray, index) => {
      const map = obj.mapByAddress(progArray);
      if (!(map instanceof ProgArrayOps)) return undefined;
      const handle = map.program(index >>> 0);
      return handle === undefined ? undefined : (handle as PreparedProgram);
    },
  };
  const helpers = helperTable(obj, options);
  const host: ProgramHost = {
    space: obj.space,
    cpus: obj.cpus,
    tailCalls,
    budget: options.budget ?? DEFAULT_BUDGET,
    enter: (program, cpu) => {
      obj.state.cpu = cpu;
      obj.state.program = program;
    },
  };
  const verify = options.verify === false ? undefined : (options.verify ?? defaultVerify);
  const wanted = options.programs ? new Set(options.programs) : undefined;
  if (wanted) for (const n of wanted) if (!spec.programs.some((p) => p.name === n)) throw new ProgramNotFoundError(n, spec.programs.map((p) => p.name));

  spec.programs.forEach((p, i) => {
    if (wanted && !wanted.has(p.name)) return;
    try {
      verify?.(p, spec);
      const prepared = prepareProgram(p.instructions, { helpers, resolve: (insn, pc) => resolveLd(obj, p.name, insn, pc) });
      obj.programs.set(p.name, new UserspaceProgram(p, i + 1, prepared, host));
    } catch (e) {
      if (e instanceof InstantiateError && !wanted) {
        obj.skipped.set(p.name, e.message);
        return;
      }
      throw e instanceof BpfkitError ? e.withContext(`program "${p.name}"`) : e;
    }
  });

  // Prog arrays: the object's initial entries name programs (libbpf fills them after loading).
  for (const m of spec.maps) {
    if (m.type !== BpfMapType.PROG_ARRAY) continue;
    const ops = obj.mapOps.get(m.name);
    if (!(ops instanceof ProgArrayOps)) continue;
    for (const e of m.initEntries) {
      const target = obj.programs.get(e.value);
      if (!target && wanted && !wanted.has(e.value)) continue; // left out on purpose: the slot stays empty
      if (!target) throw new InstantiateError(`map "${m.name}"`, `initial entry ${e.key} names program "${e.value}", which is not loaded`);
      const err = ops.setProgram(e.key, target.prepared, target.id);
      if (err !== 0) throw new InstantiateError(`map "${m.name}"`, `initial entry ${e.key}: errno ${-err}`);
    }
  }
  return obj;
}

function padTo(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out.set(data.subarray(0, size));
  return out;
}

/** Resolves a map `lddw` of program `program` to an address in the object's space. */
function resolveLd(obj: UserspaceObject, program: string, insn: Instruction, pc: number): ResolvedValue {
  const name = insn.reference;
  const map = name === undefined ? undefined : obj.mapOps.get(name);
  if (!map) throw new RelocationError(program, pc, name === undefined ? 'map load without a map reference' : `map "${name}" is not in the object`);
  if (insn.src === PseudoLd.MAP_FD) return halves(map.address);
  if (insn.src === PseudoLd.MAP_VALUE) {
    const off = insn.imm2 ?? 0;
    if (!(map instanceof ArrayMap) || map.def.maxEntries < 1) throw new RelocationError(program, pc, `ld.map_value into "${name}", which is not a single-value array`);
    if (off < 0 || off >= map.def.valueSize) throw new RelocationError(program, pc, `offset ${off} is outside the ${map.def.valueSize}-byte value of "${name}"`);
    return halves(map.valueAddress(0) + off);
  }
  throw new RelocationError(program, pc, `lddw pseudo source ${insn.src} is not supported in userspace`);
}

/** The helpers every program of `obj` calls: built-ins reading the object's state, then the caller's overrides. */
function helperTable(obj: UserspaceObject, options: LoadUserspaceOptions): HelperTable {
  const table = builtinHelpers({ ...(options.clock ? { clock: options.clock } : {}), ...(options.random ? { random: options.random } : {}) });
  table.set(BpfFuncId.get_smp_processor_id, () => obj.state.cpu);
  for (const [id, fn] of mapHelpers({ space: obj.space, mapByAddress: (a) => obj.mapByAddress(a), cpu: () => obj.state.cpu })) table.set(id, fn);
  for (const [id, fn] of options.helpers ?? []) table.set(id, fn);
  return table;
}
