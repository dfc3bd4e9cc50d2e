// loadUserspace(): instantiate an ObjectSpec in userspace — one address space, maps, programs, tail calls.

import type { MapSpec, ObjectSpec, ProgramSpec } from '../elf/object-spec.js';
import { assertVerified, type VerifyOptions } from '../verifier/verify.js';
import { UntypedProgramError } from '../elf/errors.js';
import { applyProgramType, assertProgramTyped, type ProgramTypeOption } from '../elf/program-type.js';
import type { Instruction } from '../isa/instruction.js';
import { PseudoLd } from '../isa/opcodes.js';
import { BpfAttachType, BpfFuncId, BpfMapType, BpfProgType } from '../isa/uapi.generated.js';
import { type ConntrackModel, createKfuncs, kfuncReason } from '../ctx/kfuncs/index.js';
import { createHelpers, createHelperEnv, progArrayTailCalls, type FibTable, type HelperClock, type HelperEnvWithLog, type HelperTask } from '../ctx/helpers/index.js';
import { socketCookie, socketState, type SocketMapEntry, type SocketTable } from '../ctx/socket-model.js';
import { SocketMap } from '../maps/sockmap.js';
import { modelSocketAddress } from '../ctx/helpers/socket-lookup.js';
import type { TunnelInfo } from '../ctx/tunnel-model.js';
import { programTypeOps, userspaceTypeNames } from '../ctx/registry.js';
import { ArrayMap, ProgArrayOps } from '../maps/array.js';
import { CgroupStorageMap } from '../maps/cgroup-storage.js';
import { HashMap } from '../maps/hash.js';
import { SkStorageMap } from '../maps/sk-storage.js';
import { SkbContext } from '../ctx/skb-context.js';
import type { MapInMapOps } from '../maps/map-in-map.js';
import { RuntimeMap } from '../maps/runtime-map.js';
import type { MapDef, MapOps, MapSocket } from '../maps/map-ops.js';
import { createMap, libbpfMaxEntries } from '../maps/registry.js';
import { AddressSpace } from '../vm/address-space.js';
import type { HelperFn, HelperTable } from '../vm/helpers.js';
import { DEFAULT_BUDGET } from '../vm/interpreter.js';
import { prepareProgram, type ResolvedValue } from '../vm/program.js';
import { BpfkitError } from '../errors.js';
import { InstantiateError, MapNotFoundError, ProgramNotFoundError, RelocationError } from './errors.js';
import { UserspaceProgram, type ProgramHost } from './userspace-program.js';
import type { EngineKind } from '../jit/create-engine.js';
import { defaultVerify, type VerifyFn } from './verify-hook.js';

const TWO32 = 4294967296;

/** Options of {@link loadUserspace}. */
export interface LoadUserspaceOptions {
  /** Simulated CPUs: per-CPU maps get this many slots per value (default 1). */
  cpus?: number;
  /**
   * The verifier run on each program before it is prepared: `true` or unset for bpfkit's
   * ({@link defaultVerify}), `false` to skip it (experiments), or your own function.
   */
  verify?: VerifyFn | boolean;
  /**
   * What the default verifier knows of the target kernel: its BTF (`kernelBtf`: kfunc
   * prototypes, CO-RE, kernel struct layouts) and the helpers its build refuses
   * (`helperRefused`). The CLI passes /sys/kernel/btf/vmlinux when the machine has it.
   */
  verifyOptions?: Pick<VerifyOptions, 'kernelBtf' | 'helperRefused'>;
  /** Helper implementations by id, replacing the runtime's own (src/ctx/helpers). */
  helpers?: ReadonlyMap<number, HelperFn>;
  /** The conntrack table the conntrack kfuncs see (default: empty, as a test run's namespace; docs/kfuncs.md). */
  conntrack?: ConntrackModel;
  /** Clocks of the time helpers (default: a deterministic counter). */
  clock?: Partial<HelperClock>;
  /** `bpf_get_prandom_u32` source (default: seeded xorshift32). */
  random?: () => number;
  /** Receives each bpf_trace_printk line (default: kept in `traceLog`). */
  trace?: (line: string) => void;
  /** Routes and neighbours for bpf_fib_lookup (default none: NOT_FWDED). */
  fib?: FibTable;
  /** Sockets bpf_sk_lookup_* / bpf_skc_lookup_tcp find (default none: NULL, as a test run for a tuple nobody listens on). */
  sockets?: SocketTable;
  /** Tunnel metadata every packet arrives with (default none, as a test run's skb: get_tunnel_key -EINVAL). */
  tunnel?: TunnelInfo;
  /** The current task the get_current_* helpers report (default pid, tgid, uid, gid 0, comm ''). */
  task?: HelperTask;
  /**
   * Socket maps (sockmap/sockhash) to fill before the runs, by map name: each key holds socket
   * `socket` of `sockets` (userspace has no fds: a user-side write names a socket by its index).
   * Default none: socket maps start empty. A map that is not a socket map, a key of the wrong
   * size or a write the kernel would refuse is an InstantiateError.
   */
  socketMaps?: Readonly<Record<string, readonly SocketMapEntry[]>>;
  /** Instruction budget per run (default 1M): a runaway program stops with BudgetExceeded. */
  budget?: number;
  /** Programs to instantiate (default: every program the runtime can run; unrunnable ones are listed in `skipped`). */
  programs?: readonly string[];
  /**
   * The execution backend: 'jit' (default: compiled to WebAssembly; a program it cannot compile
   * runs in the interpreter, see `UserspaceProgram.engineFallback`) or 'interpreter'.
   */
  engine?: EngineKind;
  /**
   * Program types for programs whose section libbpf cannot type (`SEC("xdp_prog")`), as
   * `loadObject`'s option of the same name (bpftool's `type T`), applied to `spec` first.
   */
  programType?: ProgramTypeOption;
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
  /** Maps by name through the BpfMap API (`get`, `getPerCpu`, `set`, `entries`...), the same API as kernel maps. */
  readonly maps = new Map<string, RuntimeMap>();
  /** Programs of the object not instantiated, with the reason (a program type the runtime cannot run). */
  readonly skipped = new Map<string, string>();
  /** What the helpers read: current CPU and program. */
  readonly state: RuntimeState = { cpu: 0, program: undefined };
  /** @internal the helpers' environment (set by loadUserspace). */
  env: HelperEnvWithLog | undefined;
  private readonly byAddress = new Map<number, MapOps>();
  /** True after dispose. */
  disposed = false;

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

  /** bpf_trace_printk lines so far (when no `trace` sink was given), oldest first. */
  get traceLog(): readonly string[] {
    return this.env?.traceLog ?? [];
  }

  /** The map called `name` through the BpfMap API; MapNotFoundError otherwise. */
  bpfMap(name: string): RuntimeMap {
    this.check();
    const m = this.maps.get(name);
    if (!m) throw new MapNotFoundError(name, [...this.maps.keys()]);
    return m;
  }

  /** The map whose pointer (what `lddw rX, map` loads) is `address`, or undefined. */
  mapByAddress(address: number): MapOps | undefined {
    // Map pointers are above 2^32 (heap numbers, slow Map keys); a program uses few maps, so
    // the last one found answers most calls.
    if (address === this.lastAddress) return this.lastMap;
    const m = this.byAddress.get(address);
    if (m) {
      this.lastAddress = address;
      this.lastMap = m;
    }
    return m;
  }
  private lastAddress = -1;
  private lastMap: MapOps | undefined;

  /** @internal */
  addMap(name: string, ops: MapOps): void {
    this.mapOps.set(name, ops);
    this.maps.set(name, new RuntimeMap(ops, this.cpus));
    this.byAddress.set(ops.address, ops);
  }

  private check(): void {
    if (this.disposed) throw new InstantiateError('object', 'used after dispose');
  }

  /** Releases the object, as `using` does: for plain JavaScript (`try { ... } finally { obj.close(); }`). */
  close(): void {
    this[Symbol.dispose]();
  }

  /** Releases the object: its programs and maps can no longer be used. */
  [Symbol.dispose](): void {
    this.disposed = true;
    this.programs.clear();
    this.mapOps.clear();
    this.maps.clear();
    this.byAddress.clear();
  }
}

/** The MapDef a MapSpec creates, sized as libbpf sizes it (a perf event array of 0 entries gets one per simulated CPU). */
function mapDef(m: MapSpec, cpus: number): MapDef {
  return {
    name: m.name,
    type: m.type,
    keySize: m.keySize,
    valueSize: m.valueSize,
    maxEntries: libbpfMaxEntries(m.type, m.maxEntries, cpus),
    flags: m.flags,
    ...(m.mapExtra !== undefined ? { mapExtra: m.mapExtra } : {}),
    ...(m.innerMap ? { innerMap: mapDef(m.innerMap, cpus) } : {}),
    ...(m.keyTypeId ? { btfKeyTypeId: m.keyTypeId } : {}),
    ...(m.valueTypeId ? { btfValueTypeId: m.valueTypeId } : {}),
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
export function loadUserspace(objectSpec: ObjectSpec, options: LoadUserspaceOptions = {}): UserspaceObject {
  const spec = applyProgramType(objectSpec, options.programType);
  const obj = new UserspaceObject(spec, options.cpus ?? 1);
  const sockets = options.sockets;
  const mapEnv = {
    space: obj.space,
    cpus: obj.cpus,
    mapByAddress: (a: number) => obj.mapByAddress(a),
    cpumapProgram: (id: number) => cpumapProgram(obj, id),
    // Socket maps hold sockets of the socket model, named by index (MapEnv.socket).
    ...(sockets ? { socket: (i: number) => mapSocket(obj.space, sockets, i) } : {}),
  };

  for (const m of spec.maps) {
    let ops: MapOps;
    try {
      ops = createMap(mapDef(m, obj.cpus), mapEnv);
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

  const env = createHelperEnv({
    cpus: obj.cpus,
    mapByAddress: (a) => obj.mapByAddress(a),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.trace ? { trace: options.trace } : {}),
    ...(options.fib ? { fib: options.fib } : {}),
    ...(options.sockets ? { sockets: options.sockets } : {}),
    ...(options.tunnel ? { tunnel: options.tunnel } : {}),
    ...(options.task ? { task: options.task } : {}),
    ...(spec.btf ? { objectBtf: spec.btf } : {}),
  });
  obj.env = env;
  for (const [name, entries] of Object.entries(options.socketMaps ?? {})) {
    const ops = obj.mapOps.get(name);
    if (!(ops instanceof SocketMap)) throw new InstantiateError(`socket map "${name}"`, ops ? 'is not a sockmap or sockhash' : 'the object has no map of that name');
    for (const e of entries) {
      if (e.key.length !== ops.def.keySize) throw new InstantiateError(`socket map "${name}"`, `key of ${e.key.length} bytes, the map's keys are ${ops.def.keySize}`);
      const value = new Uint8Array(ops.def.valueSize);
      new DataView(value.buffer).setUint32(0, e.socket, true);
      const err = ops.write(e.key, value, 0);
      if (err !== 0) throw new InstantiateError(`socket map "${name}"`, `socket ${e.socket} not stored (errno ${-err})`);
    }
  }
  const host: ProgramHost = {
    get disposed() {
      return obj.disposed;
    },
    space: obj.space,
    ...(spec.btf ? { objectBtf: spec.btf } : {}),
    cpus: obj.cpus,
    tailCalls: progArrayTailCalls(env),
    budget: options.budget ?? DEFAULT_BUDGET,
    engine: options.engine ?? 'jit',
    redirect: () => env.redirect,
    beginTestRun: (program) => {
      // A test run's skb->sk is a new socket each time: its socket storage starts afresh.
      const ctx = program.context.instance;
      const sock = ctx instanceof SkbContext ? ctx.sock.address() : undefined;
      for (const m of obj.mapOps.values()) {
        if (m instanceof CgroupStorageMap) m.testRunStorage();
        else if (m instanceof SkStorageMap && sock !== undefined) m.remove(sock);
      }
    },
    enter: (program, cpu) => {
      obj.state.cpu = cpu;
      obj.state.program = program;
      env.cpu = cpu;
      env.context = program.context.instance;
      env.redirect = undefined;
    },
  };
  const tables = new Map<number, HelperTable>();
  const helpersFor = (type: number): HelperTable => {
    let t = tables.get(type);
    if (!t) {
      const ops = programTypeOps(type);
      const all = createHelpers(env, ops);
      const table = new Map<number, HelperFn>();
      for (const id of all.keys()) table.set(id, all.get(id)!);
      for (const [id, fn] of options.helpers ?? []) table.set(id, fn);
      // A helper refused in userspace is a stand-in that faults (UnmodelledCallError) when a run reaches it.
      t = { get: (id: number) => table.get(id) ?? all.get(id) };
      tables.set(type, t);
    }
    return t;
  };
  let kfuncs: Map<string, HelperFn> | undefined;
  const verifyOptions = options.verifyOptions;
  const verify = options.verify === false ? undefined : typeof options.verify === 'function' ? options.verify : verifyOptions ? (p: ProgramSpec, o: ObjectSpec) => assertVerified(p, o, verifyOptions) : defaultVerify;
  const wanted = options.programs ? new Set(options.programs) : undefined;
  if (wanted) for (const n of wanted) if (!spec.programs.some((p) => p.name === n)) throw new ProgramNotFoundError(n, spec.programs.map((p) => p.name));

  // Array lookups the JIT may compile inline (the kernel's map_gen_lookup), unless the caller replaced the helper.
  const inlineMap = options.helpers?.has(BpfFuncId.map_lookup_elem)
    ? undefined
    : (address: number) => {
        const m = obj.mapByAddress(address);
        // Plain hashes only: an LRU lookup also marks the element referenced (JavaScript).
        return m instanceof ArrayMap || (m instanceof HashMap && m.constructor === HashMap) ? m.inlineLookup() : undefined;
      };
  spec.programs.forEach((p, i) => {
    if (wanted && !wanted.has(p.name)) return;
    try {
      assertProgramTyped(p);
      if (!programTypeOps(p.type)) throw new InstantiateError(`program "${p.name}"`, `program type ${p.type} cannot run in userspace (these can: ${userspaceTypeNames()})`);
      verify?.(p, spec);
      kfuncs ??= createKfuncs(env, { ...(options.conntrack ? { conntrack: options.conntrack } : {}), ...(spec.btf ? { objectBtf: spec.btf } : {}) });
      const prepared = prepareProgram(p.instructions, { helpers: helpersFor(p.type), kfuncs, kfuncReason, resolve: (insn, pc) => resolveLd(obj, p.name, insn, pc), ...(inlineMap ? { inlineMap } : {}) });
      obj.programs.set(p.name, new UserspaceProgram(p, i + 1, prepared, host));
    } catch (e) {
      if ((e instanceof InstantiateError || e instanceof UntypedProgramError) && !wanted) {
        obj.skipped.set(p.name, e.message);
        return;
      }
      throw e instanceof BpfkitError ? e.withContext(`program "${p.name}"`) : e;
    }
  });

  // Map-in-map: initial entries name inner maps of the object (ids: 1-based map order).
  spec.maps.forEach((m) => {
    const ops = obj.mapOps.get(m.name);
    if (!ops || !('setInner' in ops) || m.initEntries.length === 0) return;
    for (const e of m.initEntries) {
      const inner = obj.mapOps.get(e.value);
      if (!inner) throw new InstantiateError(`map "${m.name}"`, `initial entry ${e.key} names map "${e.value}", which the object lacks`);
      const key = new Uint8Array(4);
      new DataView(key.buffer).setUint32(0, e.key, true);
      const err = (ops as MapInMapOps).setInner(key, inner, spec.maps.findIndex((x) => x.name === e.value) + 1);
      if (err !== 0) throw new InstantiateError(`map "${m.name}"`, `initial entry ${e.key}: errno ${-err}`);
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

/** The program a cpumap value's "fd" names in userspace (its id): an XDP program loaded for BPF_XDP_CPUMAP (section xdp/cpumap). */
function cpumapProgram(obj: UserspaceObject, id: number): UserspaceProgram | undefined {
  for (const p of obj.programs.values()) if (p.id === id) return p.type === BpfProgType.XDP && p.spec.expectedAttachType === BpfAttachType.XDP_CPUMAP ? p : undefined;
  return undefined;
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

/** Socket `index` of the model as a socket map holds it, or undefined past the table's end. */
function mapSocket(space: AddressSpace, table: SocketTable, index: number): MapSocket | undefined {
  const address = modelSocketAddress(space, table, index);
  if (address === undefined) return undefined;
  const s = table.sockets[index]!;
  const state = socketState(s);
  return { address, cookie: socketCookie(s, index), storable: s.protocol === 'udp' || state === 'listen' || state === 'established' };
}
