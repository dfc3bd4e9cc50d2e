// loadKernelObject: a whole ObjectSpec into the kernel — BTF, maps (pinned, global data, kconfig), programs, prog arrays.
import { channel } from 'node:diagnostics_channel';
import type { Btf } from '../../btf/index.js';
import { BpfkitError, NotSupportedError } from '../../errors.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../../elf/object-spec.js';
import { applyProgramType, assertProgramTyped, type ProgramTypeOption } from '../../elf/program-type.js';
import { BtfFd, loadBtf } from '../bpf/btf-load.js';
import { PROG_BIND_MAP_ATTR } from '../bpf-attr.generated.js';
import { BpfCmd, MapType, ProgType } from '../bpf/constants.js';
import { StructWriter } from '../struct-codec.js';
import { createMap, type MapCreateOptions } from '../bpf/map-create.js';
import { freezeMap, updateElem } from '../bpf/map-elem.js';
import { possibleCpus, type MapFd } from '../bpf/map-fd.js';
import { pinObject } from '../bpf/obj-pin.js';
import { loadProgram, type ProgFd, type ProgramLoadOptions } from '../bpf/prog-load.js';
import type { Fd } from '../fd.js';
import { KernelError } from '../kernel-error.js';
import { KernelMap } from '../kernel-map.js';
import { libbpfMaxEntries } from '../../maps/registry.js';
import type { Sys } from '../sys.js';
import { fixupBtf, type FixedBtf, type SanitizableKind } from './btf-fixup.js';
import { missingBtfKinds } from './btf-features.js';
import { KernelSymbolError, UnknownObjectNameError } from './errors.js';
import { kconfigValue } from './kconfig.js';
import { KernelProgram } from './kernel-program.js';
import { checkPinCompatible, DEFAULT_PIN_ROOT, openExistingPin, removePin } from './pins.js';
import { buildProgramImage } from './program-image.js';
import { vmlinuxBtf } from './vmlinux.js';

/** Options of {@link loadKernelObject}. */
export interface LoadObjectOptions {
  /** Root directory for maps pinned by name (`LIBBPF_PIN_BY_NAME`); default /sys/fs/bpf, as libbpf. */
  readonly pinPath?: string;
  /** Load only these programs (by name); default all but those with autoload off (SEC("?xdp")), as libbpf. Maps are created either way. */
  readonly programs?: readonly string[];
  /** Verifier log level for every program (1 or 2 keeps the log of a successful load in `fd.verifierLog`). */
  readonly logLevel?: number;
  /** Initial verifier log buffer size in bytes. */
  readonly logSize?: number;
  /** Use these maps (by name) instead of creating them; they stay owned by the caller. */
  readonly mapReplacements?: Readonly<Record<string, MapFd>>;
  /** Target BTF for CO-RE, kfuncs and ksyms; default the running kernel's. */
  readonly targetBtf?: Btf;
  /**
   * Program types for programs whose section libbpf cannot type (`SEC("xdp_prog")`), as
   * bpftool's `prog load OBJ PIN type T` (one type, or one per program name); see applyProgramType.
   */
  readonly programType?: ProgramTypeOption;
  /**
   * Programs (by name) to load as freplace (`BPF_PROG_TYPE_EXT`) replacing function `btfId` of
   * program `target`, as libxdp loads a dispatcher's components.
   */
  readonly freplace?: Readonly<Record<string, { readonly target: Fd<'prog'>; readonly btfId: number }>>;
}

/** What the loader did besides creating objects: warnings a user may want to see. */
export interface LoadReport {
  /** BTF fix-ups applied (DATASEC sizes, sanitised kinds). */
  readonly btfChanges: readonly string[];
  /** Non-fatal problems (BTF rejected and dropped, map created without BTF...). */
  readonly warnings: readonly string[];
  /** Maps reused from an existing pin, by name. */
  readonly reusedPins: readonly string[];
  /** Pins this load created (path per map name). */
  readonly pinned: ReadonlyMap<string, string>;
}

/**
 * A whole object loaded into the kernel. Disposing closes every fd it owns; maps and programs
 * stay alive while pinned, attached or referenced.
 */
export class KernelObject implements Disposable {
  constructor(
    /** Programs by name. */
    readonly programs: ReadonlyMap<string, KernelProgram>,
    /** Maps by spec name (`.rodata`, `events`...). */
    readonly maps: ReadonlyMap<string, KernelMap>,
    /** The object's BTF in the kernel, if it was loaded. */
    readonly btf: BtfFd | undefined,
    /** What the loader changed or reused. */
    readonly report: LoadReport,
    private readonly borrowed: ReadonlySet<string>,
    private readonly kernelNames: ReadonlyMap<string, string> = new Map(),
  ) {}

  /** The program `name`; throws UnknownObjectNameError when absent. */
  program(name: string): KernelProgram {
    const p = this.programs.get(name);
    if (!p) throw new UnknownObjectNameError('program', name, [...this.programs.keys()]);
    return p;
  }

  /** The map `name`; throws UnknownObjectNameError when absent. */
  map(name: string): KernelMap {
    const m = this.maps.get(name);
    if (!m) throw new UnknownObjectNameError('map', name, [...this.maps.keys()]);
    return m;
  }

  /**
   * Pins as `bpftool prog loadall OBJ DIR pinmaps MAPDIR` does: programs at `dir/<name>`, maps
   * at `mapDir/<name>` (default `dir`; global data under libbpf's name with '.' made '_', as
   * bpffs refuses dots). Maps already pinned by name are skipped. Returns the created paths;
   * on failure removes the ones it made. The directories must exist in a bpffs.
   */
  pinAll(dir: string, mapDir: string = dir): string[] {
    const made: string[] = [];
    try {
      for (const [name, p] of this.programs) {
        const path = `${dir}/${name}`;
        p.pin(path);
        made.push(path);
      }
      for (const [name, m] of this.maps) {
        if (this.report.pinned.has(name) || this.report.reusedPins.includes(name)) continue;
        // bpffs refuses '.' in names: libbpf pins `xdp_stat.rodata` as `xdp_stat_rodata`.
        const path = `${mapDir}/${(this.kernelNames.get(name) ?? name).replace(/\./g, '_')}`;
        pinObject(m.fd, path);
        made.push(path);
      }
    } catch (err) {
      for (const p of made) removePin(p);
      throw err;
    }
    return made;
  }

  /** Closes every fd the object owns (maps given as replacements are left open). */
  close(): void {
    for (const p of this.programs.values()) p.close();
    for (const [name, m] of this.maps) if (!this.borrowed.has(name)) m.close();
    this.btf?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Tracing for users (`node:diagnostics_channel`): `bpfkit:prog:load` gets
 * `{ name, section, type, insns, id, durationMs }` per program loaded, `bpfkit:object:load`
 * `{ programs, maps, reusedPins, pinned, durationMs }` per object.
 */
export const progLoadChannel = channel('bpfkit:prog:load');
/** See {@link progLoadChannel}. */
export const objectLoadChannel = channel('bpfkit:object:load');

const fixedCache = new WeakMap<Btf, Map<string, FixedBtf>>();

/** fixupBtf, memoised per BTF and set of missing kinds (a spec is immutable; loading it again reuses the bytes). */
function fixedBtf(spec: ObjectSpec, btf: Btf, missing: ReadonlySet<SanitizableKind>): FixedBtf {
  const key = [...missing].sort().join(',');
  let byKey = fixedCache.get(btf);
  if (!byKey) fixedCache.set(btf, (byKey = new Map()));
  let fixed = byKey.get(key);
  if (!fixed) byKey.set(key, (fixed = fixupBtf(spec, btf, missing)));
  return fixed;
}

const kernelObjectName = (name: string): string => name.replace(/[^A-Za-z0-9_.]/g, '_').slice(0, 15);

/** max_entries as libbpf creates the map: perf event arrays default to one slot per possible CPU, ring buffers round up to a power-of-two number of pages. */
function effectiveMaxEntries(sys: Sys, spec: MapSpec): number {
  const cpus = spec.type === MapType.PERF_EVENT_ARRAY && spec.maxEntries === 0 ? possibleCpus(sys) : 1;
  return libbpfMaxEntries(spec.type, spec.maxEntries, cpus);
}

const MAP_IN_MAP = new Set<number>([MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS]);

/** Map types libbpf creates without key/value BTF: the kernel holds fds or ids in them, not typed data. */
const NO_BTF_MAP_TYPES = new Set<number>([
  MapType.PERF_EVENT_ARRAY,
  MapType.CGROUP_ARRAY,
  MapType.STACK_TRACE,
  MapType.ARRAY_OF_MAPS,
  MapType.HASH_OF_MAPS,
  MapType.DEVMAP,
  MapType.DEVMAP_HASH,
  MapType.CPUMAP,
  MapType.XSKMAP,
  MapType.SOCKMAP,
  MapType.SOCKHASH,
  MapType.QUEUE,
  MapType.STACK,
  MapType.ARENA,
]);

interface Created {
  maps: Map<string, KernelMap>;
  programs: Map<string, KernelProgram>;
  pinned: Map<string, string>;
  btf: BtfFd | undefined;
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/**
 * Loads `spec` into the kernel: BTF (fixed up and sanitised for this kernel), every map
 * (reusing compatible pins, filling global data and `.kconfig`, freezing read-only data),
 * the programs (CO-RE applied against vmlinux, map fds, kfunc/ksym BTF ids, func and line
 * info), then prog-array and map-in-map initial entries, then by-name pins. A verifier
 * rejection throws VerifierError (with context naming the program); on any failure every fd
 * created is closed and every pin created is removed.
 */
export function loadKernelObject(sys: Sys, objectSpec: ObjectSpec, options: LoadObjectOptions = {}): KernelObject {
  const spec = applyProgramType(objectSpec, options.programType);
  const known = spec.programs.map((p) => p.name);
  for (const n of options.programs ?? []) if (!known.includes(n)) throw new UnknownObjectNameError('program', n, known);
  for (const n of Object.keys(options.mapReplacements ?? {})) {
    if (!spec.maps.some((m) => m.name === n)) throw new UnknownObjectNameError('map', n, spec.maps.map((m) => m.name));
  }
  // Loaded by default: every program but those libbpf opens with autoload off (SEC("?xdp")).
  const loadByDefault = spec.programs.filter((p) => p.autoload !== false).map((p) => p.name);
  // Untyped programs fail before anything is created (the kernel takes no BPF_PROG_TYPE_UNSPEC).
  for (const p of spec.programs) if ((options.programs ?? loadByDefault).includes(p.name)) assertProgramTyped(p);
  if (spec.byteOrder !== 'le') throw new NotSupportedError('big-endian BPF objects on this host', undefined, 'the kernel loads programs in the host byte order (little-endian)');

  const started = performance.now();
  const created: Created = { maps: new Map(), programs: new Map(), pinned: new Map(), btf: undefined };
  const borrowed = new Set<string>();
  const warnings: string[] = [];
  const reusedPins: string[] = [];
  let btfChanges: readonly string[] = [];
  const newPins: [string, KernelMap][] = [];
  try {
    // 1. BTF.
    let btf: Btf | undefined = spec.btf;
    if (spec.btf) {
      const fixed = fixedBtf(spec, spec.btf, missingBtfKinds(sys));
      btfChanges = fixed.changes;
      try {
        created.btf = loadBtf(sys, fixed.bytes, { logLevel: options.logLevel ?? 0 });
      } catch (err) {
        if (!(err instanceof BpfkitError)) throw err;
        // libbpf carries on without BTF when the kernel refuses it; so do we, but say so.
        warnings.push(`BTF rejected by the kernel, loading without it: ${err.message.split('\n')[0]}`);
        btf = undefined;
      }
    }
    const btfFd = created.btf;

    // 2. Maps.
    const createOne = (m: MapSpec, name: string): MapFd => {
      const opts: MapCreateOptions = {
        type: m.type,
        keySize: m.keySize,
        valueSize: m.valueSize,
        maxEntries: effectiveMaxEntries(sys, m),
        flags: m.flags,
        name: kernelObjectName(name),
        ...(m.numaNode !== undefined ? { numaNode: m.numaNode } : {}),
        ...(m.mapExtra ? { mapExtra: BigInt(m.mapExtra) } : {}),
      };
      let inner: MapFd | undefined;
      try {
        if (m.innerMap) {
          if (!MAP_IN_MAP.has(m.type)) throw new BpfkitError('ERR_OBJECT_INVALID', `map "${m.name}" has an inner map but is not a map-in-map type`);
          inner = createOne(m.innerMap, m.innerMap.name);
          opts.innerMap = inner;
        }
        if (btfFd && btf && (m.keyTypeId || m.valueTypeId) && !NO_BTF_MAP_TYPES.has(m.type)) {
          try {
            return createMap(sys, { ...opts, btf: btfFd, ...(m.keyTypeId ? { btfKeyTypeId: m.keyTypeId } : {}), ...(m.valueTypeId ? { btfValueTypeId: m.valueTypeId } : {}) });
          } catch (err) {
            if (!(err instanceof KernelError)) throw err;
            warnings.push(`map "${m.name}": created without BTF (the kernel refused its key/value types: ${err.errnoName})`);
          }
        }
        return createMap(sys, opts);
      } finally {
        inner?.close();
      }
    };

    const pinRoot = options.pinPath ?? DEFAULT_PIN_ROOT;
    for (const m of spec.maps) {
      const replacement = options.mapReplacements?.[m.name];
      if (replacement) {
        created.maps.set(m.name, new KernelMap(replacement, m.name));
        borrowed.add(m.name);
        continue;
      }
      const where = `map "${m.name}"`;
      try {
        if (m.pinning === 'by_name') {
          const path = `${pinRoot}/${m.name}`;
          const existing = openExistingPin(sys, path);
          if (existing) {
            try {
              checkPinCompatible(existing, m, effectiveMaxEntries(sys, m), path);
            } catch (err) {
              existing.close();
              throw err;
            }
            created.maps.set(m.name, new KernelMap(existing, m.name));
            reusedPins.push(m.name);
            continue;
          }
        }
        const fd = createOne(m, m.kernelName ?? m.name);
        const km = new KernelMap(fd, m.name);
        created.maps.set(m.name, km);
        if (m.origin === 'kconfig') {
          updateElem(fd, u32le(0), kconfigValue(sys, m, spec.externs, spec.btf));
          freezeMap(fd);
        } else if (m.origin === 'global-data' && m.data) {
          updateElem(fd, u32le(0), m.data);
          if (m.readOnly) freezeMap(fd);
        }
        if (m.pinning === 'by_name') newPins.push([`${pinRoot}/${m.name}`, km]);
      } catch (err) {
        throw err instanceof BpfkitError ? err.withContext(where) : err;
      }
    }

    // 3. Programs.
    const wanted = new Set(options.programs ?? loadByDefault);
    const weakExterns = new Set(spec.externs.filter((e) => e.weak).map((e) => e.name));
    const target = (): Btf => options.targetBtf ?? vmlinuxBtf(sys);
    for (const p of spec.programs) {
      if (!wanted.has(p.name)) continue;
      try {
        const t0 = performance.now();
        const kp = loadOne(sys, p, btf, btfFd, created.maps, target, weakExterns, options);
        created.programs.set(p.name, kp);
        if (progLoadChannel.hasSubscribers) {
          progLoadChannel.publish({ name: p.name, section: p.section, type: p.type, insns: kp.instructions.length, id: kp.info().id, durationMs: performance.now() - t0 });
        }
      } catch (err) {
        throw err instanceof BpfkitError ? err.withContext(`program "${p.name}" (section "${p.section}")`) : err;
      }
    }

    // libbpf binds .rodata to every program so tools (bpftool prog show metadata) find it.
    const rodata = spec.maps.find((m) => m.origin === 'global-data' && m.section === '.rodata');
    const rodataMap = rodata && created.maps.get(rodata.name);
    if (rodataMap) {
      for (const p of created.programs.values()) {
        try {
          bindMap(p.fd, rodataMap.fd);
        } catch (err) {
          if (!(err instanceof KernelError)) throw err;
          warnings.push(`program "${p.name}": BPF_PROG_BIND_MAP of .rodata failed (${err.errnoName})`);
        }
      }
    }

    // 4. Initial entries: prog arrays hold program fds, map-in-maps hold map fds.
    for (const m of spec.maps) {
      if (m.initEntries.length === 0 || borrowed.has(m.name)) continue;
      const km = created.maps.get(m.name)!;
      for (const e of m.initEntries) {
        const fd = m.type === MapType.PROG_ARRAY ? created.programs.get(e.value)?.fd : created.maps.get(e.value)?.fd;
        if (!fd) {
          if (m.type === MapType.PROG_ARRAY && !wanted.has(e.value)) continue; // not loaded on purpose
          throw new BpfkitError('ERR_OBJECT_INVALID', `map "${m.name}": initial entry ${e.key} names "${e.value}", which was not created`);
        }
        updateElem(km.fd, u32le(e.key), u32le(fd.raw));
      }
    }

    // 5. Pins by name, last, so a failed load leaves none behind.
    for (const [path, km] of newPins) {
      pinObject(km.fd, path);
      created.pinned.set(km.name, path);
    }
    if (objectLoadChannel.hasSubscribers) {
      objectLoadChannel.publish({ programs: [...created.programs.keys()], maps: [...created.maps.keys()], reusedPins: reusedPins.slice(), pinned: Object.fromEntries(created.pinned), durationMs: performance.now() - started });
    }
    const kernelNames = new Map(spec.maps.flatMap((m) => (m.kernelName ? [[m.name, m.kernelName] as const] : [])));
    return new KernelObject(created.programs, created.maps, created.btf, { btfChanges, warnings, reusedPins, pinned: created.pinned }, borrowed, kernelNames);
  } catch (err) {
    for (const path of created.pinned.values()) removePin(path);
    for (const p of created.programs.values()) p.close();
    for (const [name, m] of created.maps) if (!borrowed.has(name)) m.close();
    created.btf?.close();
    throw err;
  }
}

/** BPF_PROG_BIND_MAP: keeps `map` alive with `prog` and lists it in the program's map ids. */
function bindMap(prog: ProgFd, map: MapFd): void {
  const attr = new StructWriter(PROG_BIND_MAP_ATTR).u32('prog_fd', prog.raw).u32('map_fd', map.raw);
  prog.sys.bpf(BpfCmd.PROG_BIND_MAP, attr.bytes, attr.pointers);
}

const PROG_LOAD_ATTEMPTS = 5;

const ATTACH_BY_BTF = new Set<number>([ProgType.TRACING, ProgType.LSM]);

/**
 * The kernel BTF name of an attach target, as libbpf's find_attach_btf_id spells it: raw
 * tracepoints are the typedef `btf_trace_<tp>`, iterators the function `bpf_iter_<name>`, LSM
 * hooks the function `bpf_lsm_<hook>`; fentry/fexit/freplace name the function itself.
 */
export function attachTargetName(section: string, target: string): { name: string; kind: 'typedef' | 'func' } {
  const prefix = section.slice(0, Math.max(0, section.indexOf('/')));
  if (prefix === 'tp_btf') return { name: `btf_trace_${target}`, kind: 'typedef' };
  if (prefix === 'iter' || prefix === 'iter.s') return { name: `bpf_iter_${target}`, kind: 'func' };
  if (prefix === 'lsm' || prefix === 'lsm.s' || prefix === 'lsm_cgroup') return { name: `bpf_lsm_${target}`, kind: 'func' };
  return { name: target, kind: 'func' };
}

function loadOne(
  sys: Sys,
  p: ProgramSpec,
  btf: Btf | undefined,
  btfFd: BtfFd | undefined,
  maps: ReadonlyMap<string, KernelMap>,
  target: () => Btf,
  weakExterns: ReadonlySet<string>,
  options: LoadObjectOptions,
): KernelProgram {
  const image = buildProgramImage(p, { btf, mapFd: (n) => maps.get(n)?.fd.raw, vmlinux: target, weakExterns });
  let attachBtfId: number | undefined;
  if (ATTACH_BY_BTF.has(p.type) && p.attachTo) {
    const vm = target();
    const { name, kind } = attachTargetName(p.section, p.attachTo);
    const t = vm.typesByName(name).find((x) => x.kind === kind);
    if (!t) throw new KernelSymbolError(p.attachTo, 'attach target');
    attachBtfId = t.id;
  }
  const ext = options.freplace?.[p.name];
  const opts: ProgramLoadOptions = {
    type: ext ? ProgType.EXT : p.type,
    insns: image.insns,
    license: p.license,
    name: kernelObjectName(p.name),
    ...(p.expectedAttachType !== undefined && !ext ? { expectedAttachType: p.expectedAttachType } : {}),
    // An EXT program takes no BPF_F_XDP_HAS_FRAGS (libxdp's protocol: the dispatcher carries it).
    flags: ext ? p.flags & ~(1 << 5) : p.flags,
    ...(p.kernelVersion ? { kernVersion: p.kernelVersion } : {}),
    ...(btfFd && image.funcInfo ? { btf: btfFd, funcInfo: image.funcInfo } : {}),
    ...(btfFd && image.funcInfo && image.lineInfo ? { lineInfo: image.lineInfo } : {}),
    ...(attachBtfId !== undefined ? { attachBtfId } : {}),
    ...(ext ? { attachBtfId: ext.btfId, attachProgFd: ext.target } : {}),
    ...(options.logLevel !== undefined ? { logLevel: options.logLevel } : {}),
    ...(options.logSize !== undefined ? { logSize: options.logSize } : {}),
  };
  // The kernel answers EAGAIN while freed programs' JIT memory is still being reclaimed; libbpf retries 5 times.
  for (let attempt = 1; ; attempt++) {
    try {
      return new KernelProgram(p.name, loadProgram(sys, opts), p, image.instructions);
    } catch (err) {
      if (!(err instanceof KernelError && err.errnoName === 'EAGAIN') || attempt >= PROG_LOAD_ATTEMPTS) throw err;
    }
  }
}
