// Reference oracles for object parsing and map shapes: libbpf (via scripts/libbpf-dump.c) and bpftool.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './fixtures.js';
import { ensureBpffs, type Availability } from './bpffs.js';

const execFileAsync = promisify(execFile);

/** Whether a tool can be used, and if not, a sentence saying why. */
export type { Availability } from './bpffs.js';
export { ensureBpffs } from './bpffs.js';

/** One program as libbpf sees it after `bpf_object__open_file` (nothing loaded). */
export interface LibbpfProgram {
  name: string;
  /** ELF section name, e.g. `xdp`, `tc`, `socket`. */
  section: string;
  /** `enum bpf_prog_type` value and libbpf's name for it (`xdp`, `sched_cls`, ...). */
  type: number;
  typeName: string | null;
  /** `enum bpf_attach_type` value libbpf derived from the section, and its name. */
  expectedAttachType: number;
  expectedAttachTypeName: string | null;
  /** `bpf_program__insn_cnt` at open time: the program's own instructions, no subprograms. */
  insnCount: number;
  autoload: boolean;
  flags: number;
}

/** Shape of a map's inner map (map-in-map) as libbpf parsed it. */
export interface LibbpfInnerMap {
  name: string;
  type: number;
  typeName: string | null;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
}

/** One map as libbpf sees it after open, including internal .data/.rodata/.bss/.kconfig maps. */
export interface LibbpfMap {
  name: string;
  type: number;
  typeName: string | null;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  mapExtra: number;
  numaNode: number;
  btfKeyTypeId: number;
  btfValueTypeId: number;
  /** True for maps libbpf synthesises from global data sections (`xdp_stat.bss`...). */
  internal: boolean;
  /** Set only for `pinning = LIBBPF_PIN_BY_NAME` maps: `<pin root>/<name>`, root defaulting to /sys/fs/bpf. */
  pinPath: string | null;
  autocreate: boolean;
  /** Size of the initial contents for internal maps, null for others. */
  initialValueSize: number | null;
  inner: LibbpfInnerMap | null;
}

/** A program as the kernel reports it (`bpf_prog_info`) after libbpf loaded the object. */
export interface LoadedProgram {
  name: string;
  /** `bpf_program__insn_cnt` after load: subprograms appended, CO-RE/kfunc relocations applied. */
  insnCount: number;
  id?: number;
  type?: number;
  /** Kernel-side name (truncated to 15 characters). */
  kernelName?: string;
  xlatedInsnCount?: number;
  jitedLen?: number;
  nrMapIds?: number;
  gplCompatible?: boolean;
  verifiedInsns?: number;
  /** Set when `bpf_obj_get_info_by_fd` failed. */
  infoErrno?: number;
}

/** A map as the kernel reports it (`bpf_map_info`) after libbpf created it. */
export interface LoadedMap {
  name: string;
  id?: number;
  type?: number;
  kernelName?: string;
  keySize?: number;
  valueSize?: number;
  maxEntries?: number;
  /** Kernel flags; the kernel may add some (e.g. BPF_F_RDONLY_PROG on devmaps, .rodata). */
  mapFlags?: number;
  mapExtra?: number;
  pinned: boolean;
  infoErrno?: number;
}

/** What libbpf made of one object, from scripts/libbpf-dump.c. */
export interface LibbpfObjectDump {
  object: {
    name: string;
    /**
     * `bpf_object__kversion`: the object's "version" section, or (libbpf >= 1.0, no section)
     * the running kernel's version — host-dependent, do not put it in golden files.
     */
    kversion: number;
    /** libbpf 1.1 exposes no getter for the license: always null here. */
    license: null;
  };
  programs: LibbpfProgram[];
  maps: LibbpfMap[];
  /** libbpf's own messages (all levels), useful when an assertion fails. */
  log: string;
}

/** Result of opening and loading an object with libbpf into the running kernel. */
export interface LibbpfLoadDump extends LibbpfObjectDump {
  load: { ok: true; programs: LoadedProgram[]; maps: LoadedMap[] } | { ok: false; errno: number; error: string };
}

/** libbpf refused to open an object; `log` holds libbpf's explanation. */
export class LibbpfOpenError extends Error {
  override readonly name = 'LibbpfOpenError';
  constructor(
    readonly objPath: string,
    readonly errno: number,
    readonly log: string,
  ) {
    const last = log.trim().split('\n').slice(-1)[0] ?? '';
    super(`libbpf could not open ${objPath} (errno ${errno}): ${last}`);
  }
}

const dumpSource = path.join(repoRoot, 'scripts', 'libbpf-dump.c');
let libbpfState: { ok: true; binary: string } | { ok: false; reason: string } | undefined;

function compileOracle(): { ok: true; binary: string } | { ok: false; reason: string } {
  if (!existsSync('/usr/include/bpf/libbpf.h')) {
    return { ok: false, reason: 'libbpf headers missing (apt-get install libbpf-dev)' };
  }
  let source: Buffer;
  try {
    source = readFileSync(dumpSource);
  } catch (err) {
    return { ok: false, reason: `cannot read ${dumpSource}: ${(err as Error).message}` };
  }
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `bpfkit-oracle-${hash}`);
  const binary = path.join(dir, 'libbpf-dump');
  if (existsSync(binary)) return { ok: true, binary };
  mkdirSync(dir, { recursive: true });
  // Compile to a private name and rename: concurrent test files may race to build it.
  const tmp = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', ['-O1', '-Wall', '-o', tmp, dumpSource, '-lbpf', '-lelf'], { stdio: 'pipe' });
    renameSync(tmp, binary);
  } catch (err) {
    rmSync(tmp, { force: true });
    const e = err as Error & { stderr?: Buffer };
    const detail = e.stderr?.toString().trim() || e.message;
    return { ok: false, reason: `cannot build scripts/libbpf-dump.c with gcc -lbpf -lelf: ${detail}` };
  }
  return { ok: true, binary };
}

/** Whether the libbpf oracle can run here (gcc + libbpf-dev); compiles it on first call. */
export function libbpfAvailable(): Availability {
  libbpfState ??= compileOracle();
  return libbpfState.ok ? { ok: true } : { ok: false, reason: libbpfState.reason };
}

function oracleBinary(): string {
  libbpfState ??= compileOracle();
  if (!libbpfState.ok) throw new Error(`libbpf oracle unavailable: ${libbpfState.reason}`);
  return libbpfState.binary;
}

async function runDump(args: string[], objPath: string): Promise<Record<string, unknown>> {
  const { stdout } = await execFileAsync(oracleBinary(), [...args, objPath], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  if (doc.ok !== true) {
    throw new LibbpfOpenError(objPath, Number(doc.errno), String(doc.log ?? ''));
  }
  return doc;
}

/**
 * Opens (never loads) `objPath` with libbpf and returns its programs and maps.
 * Rejects with {@link LibbpfOpenError} when libbpf refuses the object.
 */
export async function libbpfDump(objPath: string): Promise<LibbpfObjectDump> {
  return (await runDump([], objPath)) as unknown as LibbpfObjectDump;
}

let pinDirCounter = 0;
function freshPinDir(): string {
  pinDirCounter += 1;
  const rand = Math.random().toString(36).slice(2, 8);
  return path.join('/sys/fs/bpf', `bpfkit-oracle-${process.pid}-${pinDirCounter}-${rand}`);
}

/**
 * Opens and LOADS `objPath` with libbpf into the running kernel (pin root: a fresh bpffs
 * directory, removed afterwards) and returns the kernel's view of every program and map.
 * Everything is closed when the helper process exits. A verifier rejection is reported as
 * `load.ok === false` with libbpf's log (which holds the verifier log) in `log`.
 */
export async function libbpfLoad(objPath: string): Promise<LibbpfLoadDump> {
  const fs = ensureBpffs();
  if (!fs.ok) throw new Error(fs.reason);
  const dir = freshPinDir();
  mkdirSync(dir);
  try {
    return (await runDump(['--load', dir], objPath)) as unknown as LibbpfLoadDump;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One map created by the legacy loader from its `struct bpf_map_def`. */
export interface LegacyMap {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags: number;
  /** Set when BPF_MAP_CREATE failed. */
  errno?: number;
}

/** One program section as loaded by the legacy loader. */
export interface LegacyProgram {
  section: string;
  insnCount: number;
  ok?: boolean;
  id?: number;
  type?: number;
  xlatedInsnCount?: number;
  gplCompatible?: boolean;
  errno?: number;
  /** Why the loader did not even try (unknown section, unsupported relocation). */
  error?: string;
  /** The kernel verifier's log at level 1. */
  verifierLog?: string;
}

/** Result of {@link legacyLoad}. */
export interface LegacyLoadResult {
  ok: boolean;
  license?: string;
  maps?: LegacyMap[];
  programs?: LegacyProgram[];
  error?: string;
}

/**
 * Loads an object with legacy `SEC("maps") struct bpf_map_def` maps — which libbpf >= 1.0
 * refuses — through the oracle's own minimal loader (maps from their definitions, ld_imm64
 * map relocations patched, one program per executable section, no subprograms), and returns
 * the kernel's verdict per program. Everything is closed before the helper exits.
 */
export async function legacyLoad(objPath: string): Promise<LegacyLoadResult> {
  const { stdout } = await execFileAsync(oracleBinary(), ['--load-legacy', objPath], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as LegacyLoadResult;
}

// --- bpftool ---------------------------------------------------------------------------------

let bpftoolState: Availability | undefined;

/** Whether `bpftool` runs here (it also needs root and a bpffs to load anything). */
export function bpftoolAvailable(): Availability {
  if (bpftoolState) return bpftoolState;
  try {
    execFileSync('bpftool', ['version'], { stdio: 'pipe' });
    bpftoolState = { ok: true };
  } catch (err) {
    bpftoolState = { ok: false, reason: `bpftool not runnable: ${(err as Error).message}` };
  }
  return bpftoolState;
}

/** One entry of `bpftool prog show -j` (the fields bpftool always prints, plus the rest). */
export interface BpftoolProg {
  id: number;
  /** bpftool's type name: `xdp`, `sched_cls`, `socket_filter`... */
  type: string;
  name?: string;
  tag: string;
  gpl_compatible: boolean;
  bytes_xlated: number;
  jited: boolean;
  bytes_jited?: number;
  map_ids?: number[];
  btf_id?: number;
  [field: string]: unknown;
}

/** One entry of `bpftool map show -j`. */
export interface BpftoolMap {
  id: number;
  /** bpftool's type name: `hash`, `percpu_array`, `lpm_trie`... */
  type: string;
  name?: string;
  flags: number;
  bytes_key: number;
  bytes_value: number;
  max_entries: number;
  btf_id?: number;
  [field: string]: unknown;
}

/** What `bpftool prog loadall` created for one object, as bpftool shows it. */
export interface BpftoolLoadResult {
  programs: BpftoolProg[];
  /** Maps pinned by loadall, pinned by name, or referenced by a program; sorted by id. */
  maps: BpftoolMap[];
  /** bpftool's stderr (libbpf messages), for failure reports. */
  log: string;
}

/** bpftool failed to load an object; `log` holds its stderr (with the verifier log). */
export class BpftoolLoadError extends Error {
  override readonly name = 'BpftoolLoadError';
  constructor(
    readonly objPath: string,
    readonly log: string,
  ) {
    const lines = log.trim().split('\n').filter((l) => !l.startsWith('Warning') && !l.startsWith('If it used'));
    super(`bpftool prog loadall ${objPath} failed: ${lines.slice(-3).join(' | ')}`);
  }
}

async function bpftoolJson<T>(args: string[]): Promise<T> {
  const { stdout } = await execFileAsync('bpftool', ['-j', ...args], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as T;
}

/** Options for {@link bpftoolLoadAll}. */
export interface BpftoolLoadOptions {
  /** Passed as `type T` to bpftool (for section names libbpf does not recognise). */
  type?: string;
}

/**
 * Loads `objPath` with `bpftool prog loadall` into a fresh bpffs directory and returns the
 * `prog show -j` / `map show -j` entries of what it created — the kernel-side oracle for
 * program types and map shapes. Pins are always removed (try/finally), including maps that
 * libbpf pinned by name under /sys/fs/bpf (LIBBPF_PIN_BY_NAME) if this call created them.
 *
 * Limitation: for objects with a pinned-by-name map, bpftool cannot also `pinmaps` into our
 * directory, so only maps pinned by name or referenced by a program are reported (an inner
 * map reachable only through a map-in-map is then missing).
 */
export async function bpftoolLoadAll(objPath: string, options: BpftoolLoadOptions = {}): Promise<BpftoolLoadResult> {
  const tool = bpftoolAvailable();
  if (!tool.ok) throw new Error(tool.reason);
  const fs = ensureBpffs();
  if (!fs.ok) throw new Error(fs.reason);

  // Which maps will libbpf pin by name (at /sys/fs/bpf/<name>)? Ask the libbpf oracle.
  let byName: string[] = [];
  if (libbpfAvailable().ok) {
    try {
      byName = (await libbpfDump(objPath)).maps.flatMap((m) => (m.pinPath ? [m.pinPath] : []));
    } catch {
      // libbpf refuses the object: bpftool (same libbpf) will fail below with the reason.
    }
  }
  const preexisting = new Set(byName.filter((p) => existsSync(p)));

  const dir = freshPinDir();
  const progDir = path.join(dir, 'progs');
  const mapDir = path.join(dir, 'maps');
  mkdirSync(dir);
  try {
    const args = ['prog', 'loadall', objPath, progDir];
    if (options.type) args.push('type', options.type);
    if (byName.length === 0) args.push('pinmaps', mapDir);
    let log = '';
    try {
      const r = await execFileAsync('bpftool', args, { maxBuffer: 64 * 1024 * 1024 });
      log = r.stderr;
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new BpftoolLoadError(objPath, e.stderr ?? e.message);
    }

    const programs: BpftoolProg[] = [];
    for (const f of readdirSync(progDir).sort()) {
      programs.push(await bpftoolJson<BpftoolProg>(['prog', 'show', 'pinned', path.join(progDir, f)]));
    }
    const maps = new Map<number, BpftoolMap>();
    const mapPins = [
      ...(existsSync(mapDir) ? readdirSync(mapDir).sort().map((f) => path.join(mapDir, f)) : []),
      ...byName.filter((p) => existsSync(p)),
    ];
    for (const pin of mapPins) {
      const m = await bpftoolJson<BpftoolMap>(['map', 'show', 'pinned', pin]);
      maps.set(m.id, m);
    }
    for (const id of programs.flatMap((p) => p.map_ids ?? [])) {
      if (!maps.has(id)) maps.set(id, await bpftoolJson<BpftoolMap>(['map', 'show', 'id', String(id)]));
    }
    return { programs, maps: [...maps.values()].sort((a, b) => a.id - b.id), log };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    for (const p of byName) if (!preexisting.has(p)) rmSync(p, { force: true });
  }
}
