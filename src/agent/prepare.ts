// Preparing a config: every object read, globals applied, pinned maps reused, programs loaded and seeds encoded — nothing attached yet.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BpfkitError } from '../errors.js';
import { loadObject, objectNameFromPath } from '../elf/object-loader.js';
import type { MapSpec, ObjectSpec } from '../elf/object-spec.js';
import { buildSchema, varOffsets, type GenSchema } from '../gen/schema.js';
import { writeLayout } from '../gen/codec.js';
import { layoutSize } from '../gen/layout.js';
import { MapType } from '../kernel/bpf/constants.js';
import { possibleCpus, type MapFd } from '../kernel/bpf/map-fd.js';
import { programInfo, type ProgramInfo } from '../kernel/bpf/obj-info.js';
import { isErrno } from '../kernel/kernel-error.js';
import type { KernelMap } from '../kernel/kernel-map.js';
import { loadKernelObject, type KernelObject } from '../kernel/object/load-object.js';
import type { KernelProgram } from '../kernel/object/kernel-program.js';
import { checkPinCompatible, openExistingPin } from '../kernel/object/pins.js';
import { VerifierError } from '../kernel/verifier-error.js';
import { libbpfMaxEntries } from '../maps/registry.js';
import type { Sys } from '../kernel/sys.js';
import { encodeConfigBytes } from './bytes.js';
import { resolveAttachPoint, describeAttachPoint, type Resolution } from './attach-point.js';
import type { AgentConfig, ObjectOptions, ProgramEntry } from './config.js';
import { AgentApplyError } from './errors.js';

/** One map entry ready to write. */
export interface PreparedSeed {
  readonly map: KernelMap;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** One object loaded for a config: its maps (reused from pins or fresh) and programs. */
export interface PreparedObject {
  /** Absolute path. */
  readonly path: string;
  /** Directory name of its map pins under `bpffs/maps/`. */
  readonly key: string;
  readonly spec: ObjectSpec;
  readonly kobj: KernelObject;
  /** Key/value layouts by map name, from BTF. */
  readonly schema: GenSchema | undefined;
  /** Maps reused from their pins (the fds are ours to close). */
  readonly reused: ReadonlyMap<string, MapFd>;
  /** Maps created now, to pin at commit (`replace`: an incompatible pin is there and goes). */
  readonly fresh: readonly { readonly name: string; readonly replace: string | undefined }[];
  /** Entries to write at commit. */
  readonly seeds: readonly PreparedSeed[];
  /** Read-only global data as loaded, by kernel map name: an adopted program's must match. */
  readonly rodata: ReadonlyMap<string, Uint8Array>;
}

/** One program entry, loaded and resolved. */
export interface PreparedEntry {
  readonly entry: ProgramEntry;
  readonly object: PreparedObject;
  readonly prog: KernelProgram;
  readonly info: ProgramInfo;
  readonly resolution: Resolution;
}

/** A config loaded into the kernel but not yet attached; {@link releasePlan} closes it if not committed. */
export interface Plan {
  readonly config: AgentConfig;
  readonly objects: ReadonlyMap<string, PreparedObject>;
  readonly entries: readonly PreparedEntry[];
}

/** Map pins are by map name; global data is never pinned (it belongs to one load). */
export function pinnableMap(m: MapSpec): boolean {
  return m.origin !== 'global-data' && m.origin !== 'kconfig';
}

/** `xdp_stats-1a2b3c4d`: the object's file name and a hash of its path, a bpffs-safe directory name. */
export function objectKey(path: string): string {
  const base = objectNameFromPath(path).replace(/[^A-Za-z0-9_-]/g, '_');
  return `${base}-${createHash('sha256').update(path).digest('hex').slice(0, 8)}`;
}

/** Map pin path of `map` of the object with key `key`. */
export function mapPinPath(bpffs: string, key: string, map: string): string {
  return `${bpffs}/maps/${key}/${map.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

const firstLine = (err: unknown): string => (err instanceof Error ? err.message.split('\n')[0] ?? '' : String(err));

/** Applies `globals` to the global-data sections of `spec` (a copy); unknown names and bad values name their config key. */
function withGlobals(spec: ObjectSpec, schema: GenSchema | undefined, opts: ObjectOptions, entryName: string): ObjectSpec {
  const names = Object.keys(opts.globals);
  if (names.length === 0) return spec;
  const at = opts.configPath ?? `object ${opts.path}`;
  const data = new Map<string, Uint8Array>();
  for (const name of names) {
    const section = schema?.sections.find((s) => s.vars.some((v) => v.name === name));
    const v = section?.vars.find((x) => x.name === name);
    if (!section || !v) {
      const known = schema?.sections.flatMap((s) => s.vars.map((x) => x.name)) ?? [];
      throw new AgentApplyError(entryName, `${at}.globals.${name}: the object has no global variable "${name}"${known.length ? ` (it has: ${known.join(', ')})` : ' (no BTF for its global data)'}`);
    }
    const m = spec.maps.find((x) => x.name === section.section) as MapSpec;
    let bytes = data.get(m.name);
    if (!bytes) data.set(m.name, (bytes = m.data ? m.data.slice() : new Uint8Array(m.valueSize)));
    const raw = opts.globals[name];
    try {
      const enc = encodeConfigBytes(raw, layoutSize(v.layout), v.layout, `${at}.globals.${name}`);
      bytes.set(enc, v.offset);
    } catch (err) {
      if (typeof raw === 'boolean') writeLayout(v.layout, bytes, v.offset, raw, true, `${at}.globals.${name}`);
      else throw new AgentApplyError(entryName, firstLine(err), { cause: err });
    }
  }
  return { ...spec, maps: spec.maps.map((m) => (data.has(m.name) ? { ...m, data: data.get(m.name) } : m)) };
}

/** Loads one object for the entries that use it. Closes what it opened on failure. */
function prepareObject(sys: Sys, config: AgentConfig, opts: ObjectOptions, entries: readonly ProgramEntry[]): PreparedObject {
  const user = entries[0] as ProgramEntry;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(opts.path));
  } catch (err) {
    throw new AgentApplyError(user.name, `object ${opts.path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`, { cause: err });
  }
  let spec: ObjectSpec;
  let schema: GenSchema | undefined;
  try {
    spec = loadObject(bytes, { objectName: objectNameFromPath(opts.path) });
    schema = spec.btf ? buildSchema(spec, opts.path, objectNameFromPath(opts.path), varOffsets(bytes)).schema : undefined;
  } catch (err) {
    throw new AgentApplyError(user.name, `object ${opts.path}: ${firstLine(err)}`, { cause: err });
  }
  for (const e of entries) {
    if (!spec.programs.some((p) => p.name === e.program)) {
      throw new AgentApplyError(e.name, `${e.path}.program: object ${opts.path} has no program "${e.program}" (it has: ${spec.programs.map((p) => p.name).join(', ')})`);
    }
  }
  spec = withGlobals(spec, schema, opts, user.name);
  const key = objectKey(opts.path);
  const reused = new Map<string, MapFd>();
  const fresh: { name: string; replace: string | undefined }[] = [];
  let kobj: KernelObject | undefined;
  try {
    for (const m of spec.maps) {
      if (!pinnableMap(m)) continue;
      const path = mapPinPath(config.bpffs, key, m.name);
      const existing = openExistingPin(sys, path);
      if (!existing) {
        fresh.push({ name: m.name, replace: undefined });
        continue;
      }
      const cpus = m.type === MapType.PERF_EVENT_ARRAY && m.maxEntries === 0 ? possibleCpus(sys) : 1;
      try {
        checkPinCompatible(existing, m, libbpfMaxEntries(m.type, m.maxEntries, cpus), path);
        reused.set(m.name, existing);
      } catch {
        // The object's map changed shape: a new map replaces the pin at commit (its values start over).
        existing.close();
        fresh.push({ name: m.name, replace: path });
      }
    }
    const types = Object.fromEntries(entries.filter((e) => e.type !== undefined).map((e) => [e.program, e.type as string]));
    try {
      kobj = loadKernelObject(sys, spec, {
        programs: [...new Set(entries.map((e) => e.program))],
        mapReplacements: Object.fromEntries(reused),
        ...(Object.keys(types).length ? { programType: types } : {}),
      });
    } catch (err) {
      const which = err instanceof VerifierError ? (entries.find((e) => err.message.includes(`"${e.program}"`)) ?? user) : user;
      const what = err instanceof VerifierError ? `program ${which.program} rejected by the verifier: ${err.summary || firstLine(err)}` : firstLine(err);
      throw new AgentApplyError(which.name, `object ${opts.path}: ${what}`, { cause: err });
    }
    const seeds: PreparedSeed[] = [];
    for (const s of opts.seeds) {
      const map = kobj.maps.get(s.map);
      const mapSpec = spec.maps.find((m) => m.name === s.map);
      if (!map || !mapSpec || !pinnableMap(mapSpec)) {
        throw new AgentApplyError(user.name, `${s.path}.map: object ${opts.path} has no map "${s.map}" to seed (it has: ${spec.maps.filter(pinnableMap).map((m) => m.name).join(', ')})`);
      }
      const layouts = schema?.maps.find((m) => m.name === s.map);
      for (const e of s.entries) {
        try {
          const keyBytes = encodeConfigBytes(e.key, map.keySize, layouts?.key, `${e.path}.key`);
          const valueBytes = encodeConfigBytes(e.value, map.valueSize, layouts?.value, `${e.path}.value`);
          seeds.push({ map, key: keyBytes, value: valueBytes });
        } catch (err) {
          throw new AgentApplyError(user.name, `map ${s.map}: ${firstLine(err)}`, { cause: err });
        }
      }
    }
    const rodata = new Map<string, Uint8Array>();
    for (const m of spec.maps) if (m.origin === 'global-data' && m.readOnly && m.data) rodata.set((m.kernelName ?? m.name).slice(0, 15), m.data);
    return { path: opts.path, key, spec, kobj, schema, reused, fresh, seeds, rodata };
  } catch (err) {
    kobj?.close();
    for (const fd of reused.values()) fd.close();
    throw err;
  }
}

/** Closes everything a plan holds (programs not attached go away; pinned and attached objects stay). */
export function releasePlan(plan: Plan): void {
  for (const o of plan.objects.values()) {
    o.kobj.close();
    for (const fd of o.reused.values()) fd.close();
  }
}

/**
 * Prepares `config` as a whole: reads and loads every object (reusing compatible map pins under
 * `bpffs/maps/`), applies globals, encodes every seed, resolves every attach point
 * (`missingInterfacesWait`: a missing interface makes its entries pending instead of refusing the
 * config — for re-applies after an interface went away). Any problem
 * is an {@link AgentApplyError} naming the entry, and nothing is left loaded or changed.
 */
export function prepare(sys: Sys, config: AgentConfig, options: { readonly missingInterfacesWait?: boolean } = {}): Plan {
  const objects = new Map<string, PreparedObject>();
  const entries: PreparedEntry[] = [];
  const plan: Plan = { config, objects, entries };
  try {
    for (const [path, opts] of config.objects) {
      const users = config.programs.filter((p) => p.object === path);
      if (users.length === 0) continue;
      objects.set(path, prepareObject(sys, config, opts, users));
    }
    for (const e of config.programs) {
      const object = objects.get(e.object) as PreparedObject;
      const prog = object.kobj.program(e.program);
      let resolution: Resolution;
      try {
        resolution = resolveAttachPoint(sys, e.attach);
      } catch (err) {
        throw new AgentApplyError(e.name, `${describeAttachPoint(e.attach)}: ${firstLine(err)}`, { cause: err });
      }
      const waits = (e.attach.kind === 'xdp' || e.attach.kind === 'tc') && (e.attach.whenPresent || options.missingInterfacesWait === true);
      if (!resolution.ok && !waits) throw new AgentApplyError(e.name, `${e.path}: ${resolution.reason}${e.attach.kind === 'xdp' || e.attach.kind === 'tc' ? ' (set whenPresent: true to attach when it appears)' : ''}`);
      entries.push({ entry: e, object, prog, info: programInfo(prog.fd), resolution });
    }
    for (const [i, m] of config.metrics.entries()) {
      const having = [...objects.values()].filter((o) => (m.object === undefined || o.path === m.object) && o.kobj.maps.has(m.map));
      if (having.length === 0) throw new AgentApplyError(m.path, `metrics[${i}].map: no deployed object has a map "${m.map}"`);
      if (having.length > 1) throw new AgentApplyError(m.path, `metrics[${i}].map: several objects have a map "${m.map}" (${having.map((o) => o.path).join(', ')}); say which with "object"`);
    }
  } catch (err) {
    releasePlan(plan);
    if (err instanceof AgentApplyError) throw err;
    if (err instanceof BpfkitError) throw new AgentApplyError('config', firstLine(err), { cause: err });
    throw err;
  }
  return plan;
}

/** True when `err` says a pin is absent. */
export function isMissing(err: unknown): boolean {
  return isErrno(err, 2);
}
