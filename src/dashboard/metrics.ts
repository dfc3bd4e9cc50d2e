// The metrics collector: snapshots the kernel's BPF programs, maps and selected map values through a Sys.
import { BpfkitError, mapTypeName, parseBtf, programTypeName, snakeCaseKeys, type Btf } from '../index.js';
import {
  collectRunStats,
  Errno,
  fdById,
  fdinfo,
  formatBtfValue,
  ids,
  isErrno,
  isUnsupportedErrno,
  lookupBatch,
  splitPerCpu,
  KernelMap,
  MapFd,
  mapInfo,
  MapType,
  possibleCpus,
  programFullName,
  programInfo,
  rawBtf,
  statsSysctl,
  stringifyFormatted,
  type BatchCursor,
  type Fd,
  type MapInfo,
  type RunStats,
  type RunStatsSource,
  type Sys,
} from '../kernel/index.js';
import { addDropCounts, isDropCounter, type DropReasonCount } from './drops.js';
import { NoSuchMapError, NonNumericMapError } from './errors.js';
import { addValues, btfNumericFields, readNumericFields, sizedNumericFields, type NumericField } from './map-values.js';
import type { SampleValue } from './prometheus.js';

/** Which maps to export the values of: by name (as `bpftool map show name`, 15-character names match longer ones) or id. */
export type MapSelector = { readonly name: string } | { readonly id: number };

/** Options of a {@link MetricsCollector}. */
export interface CollectorOptions {
  /** Maps whose values become series (none by default: programs and map attributes only). */
  readonly maps?: readonly MapSelector[];
  /** At most this many value series per map (default 1000); the rest are counted in `droppedSeries`. */
  readonly seriesLimit?: number;
  /**
   * Throw {@link NoSuchMapError} when a selector matches no map (default true). A long-running
   * server sets it false after its first collection: a reloaded map then shows in `missing`.
   */
  readonly strict?: boolean;
}

/** One program as sampled. */
export interface ProgramSample {
  readonly id: number;
  /** Full name (completed from BTF past 15 characters, as bpftool does); `''` when unnamed. */
  readonly name: string;
  /** bpftool's type name (`xdp`, `sched_cls`...). */
  readonly type: string;
  /** 16 hex digits. */
  readonly tag: string;
  /** Runs counted while statistics were on (`run_cnt`). */
  readonly runCount: number;
  /** Nanoseconds spent in those runs (`run_time_ns`). */
  readonly runTimeNs: number;
  readonly bytesXlated: number;
  readonly bytesJited: number;
  /** From fdinfo; undefined when unreadable. */
  readonly bytesMemlock: number | undefined;
  /** Load time, seconds since the epoch. */
  readonly loadedAt: number;
  readonly verifiedInsns: number;
  readonly mapIds: readonly number[];
}

/** One map as sampled. */
export interface MapSample {
  readonly id: number;
  readonly name: string;
  /** bpftool's type name (`percpu_array`...). */
  readonly type: string;
  readonly flags: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** From fdinfo; undefined when unreadable. */
  readonly bytesMemlock: number | undefined;
}

/** One key of a selected map: a value per field (summed over CPUs), and per CPU for per-CPU maps. */
export interface MapValueRow {
  /** The key label: BTF-formatted when the map has key BTF (`2`, `{"proto":6}`), else hex bytes (`02 00 00 00`). */
  readonly key: string;
  /** One value per field of {@link MapValues.fields}; per-CPU maps: the sum over CPUs. */
  readonly values: readonly SampleValue[];
  /** Per-CPU maps: `perCpu[field][cpu]`. */
  readonly perCpu?: readonly (readonly SampleValue[])[];
}

/** The values of one selected map. */
export interface MapValues {
  readonly id: number;
  readonly name: string;
  readonly type: string;
  readonly perCpu: boolean;
  /** CPUs per value (possible CPUs for per-CPU maps, else 1). */
  readonly cpus: number;
  /** How keys are labelled. */
  readonly keyFormat: 'btf' | 'hex';
  /** The `field` labels, in value order (`['']` for a scalar value). */
  readonly fields: readonly string[];
  /** Keys present in the map (all of them, exported or not). */
  readonly entries: number;
  /** Exported keys, in the kernel's key order. */
  readonly rows: readonly MapValueRow[];
  /** Series left out over the per-map limit. */
  readonly droppedSeries: number;
  /** Why the values could not be read (non-strict collections only; strict ones throw): no rows then. */
  readonly error?: string;
}

/** Everything one collection saw. */
export interface Snapshot {
  /** When it was taken, ms since the epoch. */
  readonly time: number;
  /** How long it took. */
  readonly durationMs: number;
  /** True when run statistics are known to be on (the sysctl, or this collector's BPF_ENABLE_STATS fd). */
  readonly statsEnabled: boolean;
  /** Who turned them on: this collector (`fd` / `sysctl`), the sysctl already set (`sysctl`), or `off`. */
  readonly statsSource: RunStatsSource | 'off';
  /** Possible CPUs. */
  readonly cpus: number;
  readonly programs: readonly ProgramSample[];
  readonly maps: readonly MapSample[];
  /** Selected maps' values. */
  readonly values: readonly MapValues[];
  /** How many maps each selector matched (`name xdp_stats_map` -> 1). */
  readonly selectors: Readonly<Record<string, number>>;
  /** Packet drops by reason, summed over the drop counters of running or pinned `bpfkit trace drops`. */
  readonly drops?: readonly DropReasonCount[];
}

/** `name X` / `id N`, as messages and the `selector` label spell a selector. */
export function selectorText(s: MapSelector): string {
  return 'id' in s ? `id ${s.id}` : `name ${s.name}`;
}

/** Parses `NAME`, `id N`, `id:N` or `id=N` into a selector. */
export function parseMapSelector(text: string): MapSelector {
  const m = /^id[\s:=]+(\d+)$/.exec(text.trim());
  if (m) return { id: Number(m[1]) };
  const name = text.trim().replace(/^name[\s:=]+/, '');
  return { name };
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Key bytes as bpftool prints them: `02 00 00 00`. */
function hexKey(k: Uint8Array): string {
  let s = HEX[k[0] ?? 0]!;
  for (let i = 1; i < k.length; i++) s += ` ${HEX[k[i]!]}`;
  return k.length ? s : '';
}

/** Opens `kind` object `id`, or undefined when it vanished meanwhile. */
function openById<K extends 'prog' | 'map' | 'btf'>(sys: Sys, kind: K, id: number): Fd<K> | undefined {
  try {
    return fdById(sys, kind, id);
  } catch (err) {
    if (isErrno(err, Errno.ENOENT)) return undefined;
    throw err;
  }
}

function fdinfoNumber(info: ReadonlyMap<string, string>, key: string): number | undefined {
  const v = info.get(key);
  return v === undefined || v === '' || Number.isNaN(Number(v)) ? undefined : Number(v);
}

/**
 * Collects snapshots of the kernel's BPF state: every program (run count and time, sizes),
 * every map (attributes, memlock) and the values of the selected maps as numeric series. Every
 * fd a collection opens is closed before it returns. Keep one collector for repeated
 * collections: program names and BTF are cached by id. Disposing closes what
 * {@link enableStats} holds.
 */
export class MetricsCollector implements Disposable {
  readonly #sys: Sys;
  readonly #options: CollectorOptions;
  #strict: boolean;
  #stats: RunStats | undefined;
  #bootTime: number | undefined;
  readonly #names = new Map<number, string>();
  readonly #btf = new Map<number, Btf | null>();

  constructor(sys: Sys, options: CollectorOptions = {}) {
    this.#sys = sys;
    this.#options = options;
    this.#strict = options.strict ?? true;
  }

  /** Whether a selector matching nothing throws (see {@link CollectorOptions.strict}). */
  set strict(on: boolean) {
    this.#strict = on;
  }

  /** Turns run statistics on until {@link close} (BPF_ENABLE_STATS, the sysctl on older kernels); idempotent. */
  enableStats(): RunStatsSource {
    if (!this.#stats || this.#stats.closed) this.#stats = collectRunStats(this.#sys);
    return this.#stats.source;
  }

  /** Closes the statistics fd (or restores the sysctl). */
  close(): void {
    this.#stats?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Takes a snapshot. Throws {@link NoSuchMapError} for a selector matching nothing when strict. */
  collect(): Snapshot {
    const t0 = performance.now();
    const sys = this.#sys;
    const cpus = possibleCpus(sys);
    const programs: ProgramSample[] = [];
    const liveProgs = new Set<number>();
    for (const id of ids(sys, 'prog')) {
      const fd = openById(sys, 'prog', id);
      if (!fd) continue;
      try {
        programs.push(this.#program(fd));
        liveProgs.add(id);
      } finally {
        fd.close();
      }
    }
    for (const id of this.#names.keys()) if (!liveProgs.has(id)) this.#names.delete(id);

    const selectors = this.#options.maps ?? [];
    const matched: Record<string, number> = Object.fromEntries(selectors.map((s) => [selectorText(s), 0]));
    const maps: MapSample[] = [];
    const values: MapValues[] = [];
    const drops = new Map<string, number>();
    const liveBtf = new Set<number>();
    for (const id of ids(sys, 'map')) {
      const fd = openById(sys, 'map', id);
      if (!fd) continue;
      let info: MapInfo;
      try {
        info = mapInfo(fd);
        const fdi = fdinfo(fd);
        maps.push({
          id: info.id,
          name: info.name,
          type: mapTypeName(info.type),
          flags: info.flags,
          keySize: info.keySize,
          valueSize: info.valueSize,
          maxEntries: info.maxEntries,
          bytesMemlock: fdinfoNumber(fdi, 'memlock'),
        });
      } catch (err) {
        fd.close();
        if (isErrno(err, Errno.ENOENT)) continue;
        throw err;
      }
      if (isDropCounter(info)) {
        try {
          addDropCounts(sys, info.id, drops);
        } catch (err) {
          if (!isErrno(err, Errno.ENOENT)) throw err;
        }
      }
      const hits = selectors.filter((s) => ('id' in s ? s.id === info.id : info.name !== '' && (s.name === info.name || s.name.slice(0, 15) === info.name)));
      if (hits.length === 0) {
        fd.close();
        continue;
      }
      for (const s of hits) matched[selectorText(s)] = (matched[selectorText(s)] ?? 0) + 1;
      if (info.btfId) liveBtf.add(info.btfId);
      const mapFd = new MapFd(sys, fd.release(), { type: info.type, keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries, flags: info.flags });
      using km = new KernelMap(mapFd, info.name);
      try {
        values.push(this.#values(km, info, cpus));
      } catch (err) {
        // A long-running server keeps serving the rest; a one-shot collection reports it.
        if (this.#strict || !(err instanceof BpfkitError)) throw err;
        values.push({ id: info.id, name: info.name, type: mapTypeName(info.type), perCpu: km.perCpu, cpus: km.perCpu ? cpus : 1, keyFormat: 'hex', fields: [], entries: 0, rows: [], droppedSeries: 0, error: `${err.message} [${err.code}]` });
      }
    }
    for (const id of this.#btf.keys()) if (!liveBtf.has(id)) this.#btf.delete(id);
    if (this.#strict) {
      const missing = selectors.find((s) => matched[selectorText(s)] === 0);
      if (missing) throw new NoSuchMapError(selectorText(missing));
    }
    const sysctl = statsSysctl(sys) === true;
    const held = this.#stats !== undefined && !this.#stats.closed;
    return {
      time: Date.now(),
      durationMs: performance.now() - t0,
      statsEnabled: sysctl || held,
      statsSource: held ? this.#stats!.source : sysctl ? 'sysctl' : 'off',
      cpus,
      programs,
      maps,
      values,
      selectors: matched,
      drops: [...drops].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    };
  }

  #program(fd: Fd<'prog'>): ProgramSample {
    const info = programInfo(fd);
    let name = this.#names.get(info.id);
    if (name === undefined) {
      name = info.name ? programFullName(fd, info.name) : '';
      this.#names.set(info.id, name);
    }
    this.#bootTime ??= Date.now() / 1000 - Number(new TextDecoder().decode(this.#sys.readFile('/proc/uptime')).split(' ')[0]);
    return {
      id: info.id,
      name,
      type: programTypeName(info.type),
      tag: info.tag,
      runCount: Number(info.runCount),
      runTimeNs: Number(info.runTimeNs),
      bytesXlated: info.xlatedProgLen,
      bytesJited: info.jitedProgLen,
      bytesMemlock: fdinfoNumber(fdinfo(fd), 'memlock'),
      loadedAt: Math.floor(this.#bootTime + Number(info.loadTime) / 1e9),
      verifiedInsns: info.verifiedInsns,
      mapIds: info.mapIds,
    };
  }

  #mapBtf(btfId: number): Btf | undefined {
    if (!btfId) return undefined;
    let btf = this.#btf.get(btfId);
    if (btf === undefined) {
      btf = null;
      const fd = openById(this.#sys, 'btf', btfId);
      if (fd) {
        try {
          btf = parseBtf(rawBtf(fd));
        } catch {
          btf = null; // unreadable BTF: hex keys and sized values
        } finally {
          fd.close();
        }
      }
      this.#btf.set(btfId, btf);
    }
    return btf ?? undefined;
  }

  #values(km: KernelMap, info: MapInfo, possible: number): MapValues {
    const btf = this.#mapBtf(info.btfId);
    let fields: NumericField[] | undefined;
    if (btf && info.btfValueTypeId) fields = btfNumericFields(btf, info.btfValueTypeId);
    else fields = sizedNumericFields(info.valueSize);
    if (!fields || fields.length === 0) {
      const why = btf && info.btfValueTypeId ? `value type ${btf.format(info.btfValueTypeId)} has no numeric field` : `a ${info.valueSize}-byte value without BTF is not a u32/u64 (array)`;
      throw new NonNumericMapError(info.name, info.id, why);
    }
    const keyBtf = btf && info.btfKeyTypeId ? btf : undefined;
    const cpus = km.perCpu ? possible : 1;
    const perKey = fields.length * (km.perCpu ? cpus + 1 : 1);
    const limit = this.#options.seriesLimit ?? 1000;
    const rows: MapValueRow[] = [];
    const labels = new Set<string>();
    let entries = 0;
    let dropped = 0;
    const isArray = km.type === MapType.ARRAY || km.type === MapType.PERCPU_ARRAY;
    for (const [key, slots] of mapEntries(km)) {
      if ((rows.length + 1) * perKey > limit) {
        if (isArray) {
          // Array keys are the indexes 0..max_entries-1, in order: the rest need no walk.
          dropped += (info.maxEntries - entries) * perKey;
          entries = info.maxEntries;
          break;
        }
        // Over the cap: counted, not exported.
        entries++;
        dropped += perKey;
        continue;
      }
      entries++;
      let label = keyBtf ? keyLabel(keyBtf, info.btfKeyTypeId, key) : hexKey(key);
      if (labels.has(label)) label = hexKey(key); // two keys printing alike (padding, strings): bytes tell them apart
      labels.add(label);
      const perCpuFields = slots.map((v) => readNumericFields(v, fields));
      const perField = fields.map((_, i) => perCpuFields.map((vs) => vs[i]!));
      rows.push({
        key: label,
        values: perField.map((vs) => vs.reduce(addValues)),
        ...(km.perCpu ? { perCpu: perField } : {}),
      });
    }
    return {
      id: info.id,
      name: info.name,
      type: mapTypeName(info.type),
      perCpu: km.perCpu,
      cpus,
      keyFormat: keyBtf ? 'btf' : 'hex',
      fields: fields.map((f) => f.name),
      entries,
      rows,
      droppedSeries: dropped,
    };
  }
}

/**
 * A map's entries, values split per CPU: BPF_MAP_LOOKUP_BATCH 1024 at a time where the map type
 * has it (one syscall per batch), else get-next-key + lookup per key (entries deleted meanwhile
 * skipped).
 */
function* mapEntries(km: KernelMap, batch = 1024): Generator<[Uint8Array, Uint8Array[]]> {
  let cursor: BatchCursor | undefined;
  let started = false;
  try {
    do {
      const r = lookupBatch(km.fd, batch, cursor);
      started = true;
      for (let i = 0; i < r.keys.length; i++) yield [r.keys[i]!, km.perCpu ? splitPerCpu(r.values[i]!, km.valueSize) : [r.values[i]!]];
      cursor = r.next;
    } while (cursor);
    return;
  } catch (err) {
    if (started || !isUnsupportedErrno(err)) throw err;
  }
  for (const key of km.keys()) {
    const slots = km.getPerCpu(key);
    if (slots !== undefined) yield [key, slots];
  }
}

/** A key as its label: BTF-formatted (numbers and strings bare, structs as compact JSON), hex bytes when BTF cannot print it. */
function keyLabel(btf: Btf, typeId: number, key: Uint8Array): string {
  try {
    const f = formatBtfValue(btf, typeId, key);
    return typeof f === 'string' ? f : typeof f === 'number' || typeof f === 'boolean' ? String(f) : stringifyFormatted(f);
  } catch {
    return hexKey(key);
  }
}

/** One collection with a fresh collector: `collectSnapshot(sys, { maps: [{ name: 'xdp_stats_map' }] })`. */
export function collectSnapshot(sys: Sys, options: CollectorOptions = {}): Snapshot {
  using c = new MetricsCollector(sys, options);
  return c.collect();
}

/** Snapshot keys whose values are user data (map selectors as typed), not names to rename. */
const KEEP_KEYS: ReadonlySet<string> = new Set(['selectors']);

/** A snapshot as JSON text, in bpftool's snake_case names: bigints as numbers when exact, else as decimal strings. */
export function snapshotJson(snapshot: Snapshot, pretty = false): string {
  // bpftool's names (run_count, stats_source); the selectors are what the user typed, kept as is.
  return JSON.stringify(snakeCaseKeys(snapshot, KEEP_KEYS), (_k, v: unknown) => (typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v), pretty ? 2 : undefined);
}
