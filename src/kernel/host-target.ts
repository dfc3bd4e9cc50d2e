// The running kernel as a verifier target: program types, map types, helpers and kfuncs probed by loading tiny programs (bpftool feature probe's way), cached per boot.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir, release } from 'node:os';
import path from 'node:path';
import type { Btf } from '../btf/index.js';
import { BpfkitError } from '../errors.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import { KfuncNotInKernelError } from '../verifier/kfunc-resolve.js';
import type { VerifierTarget } from '../verifier/target.js';
import { loadProgram } from './bpf/prog-load.js';
import { Errno } from './errno.js';
import { probeHelper } from './feature-probe.js';
import { probeMapType, probeProgramType } from './feature-report.js';
import { isErrno, KernelError } from './kernel-error.js';
import { probeKfunc } from './kfunc-probe.js';
import type { Sys } from './sys.js';

/** The running kernel cannot be probed (no bpf(2) permission, no bpf(2) at all): names why. */
export class HostProbeError extends BpfkitError {
  /** Why the kernel could not be asked. */
  readonly reason: string;
  constructor(reason: string, options?: { cause?: unknown }) {
    super('ERR_HOST_PROBE', `cannot probe the running kernel for --target host: ${reason}`, options);
    this.reason = reason;
  }
}

/** Options of {@link hostTarget}. */
export interface HostTargetOptions {
  /**
   * Directory of the answer cache, one JSON file per boot (the kernel cannot change under a boot
   * id). Default `$XDG_CACHE_HOME/bpfkit/target` or `~/.cache/bpfkit/target`; `null`: no cache.
   */
  cacheDir?: string | null;
  /** The kernel's BTF, for kfunc probes (default: read through `sys` when a kfunc is first asked). */
  kernelBtf?: Btf;
}

/** The answers of one boot, as cached. */
interface Answers {
  release: string;
  programTypes: Record<string, boolean>;
  mapTypes: Record<string, boolean>;
  helpers: Record<string, boolean>;
  kfuncs: Record<string, boolean>;
}

/** A {@link VerifierTarget} answered by the running kernel; {@link HostTarget.save} writes new answers to the cache. */
export interface HostTarget extends Required<VerifierTarget> {
  /** The boot id the answers hold for (/proc/sys/kernel/random/boot_id). */
  readonly bootId: string;
  /** How many answers came from the cache and how many were asked of the kernel since. */
  readonly stats: { cached: number; probed: number };
  /** Writes the answers to the cache file (atomically); a no-op without a cache or new answers. */
  save(): void;
}

const RET0_EXIT = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

/** The default cache directory. */
function defaultCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache');
  return path.join(base, 'bpfkit', 'target');
}

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // Without a boot id the answers are kept for this kernel release only (still one file per release).
    return `release-${release()}`;
  }
}

function readCache(file: string | undefined): Answers | undefined {
  if (!file) return undefined;
  try {
    const a = JSON.parse(readFileSync(file, 'utf8')) as Partial<Answers>;
    if (a.release !== release() || typeof a.programTypes !== 'object' || typeof a.mapTypes !== 'object' || typeof a.helpers !== 'object' || typeof a.kfuncs !== 'object') return undefined;
    return a as Answers;
  } catch {
    return undefined;
  }
}

/**
 * The running kernel as a verifier target (`VerifyOptions.target`): each question — may programs
 * of this type load, may this map type be created, may this type call this helper or kfunc — is
 * asked of the kernel once by loading a tiny program or creating a tiny map (libbpf's probes, as
 * `bpftool feature probe`; the helper probe reads only the verifier's "cannot use helper"), then
 * cached per boot under `~/.cache/bpfkit/target`. Throws {@link HostProbeError} when the kernel
 * cannot be asked (no bpf(2) permission: a socket filter `r0 = 0; exit` fails with EPERM).
 */
export function hostTarget(sys: Sys, options: HostTargetOptions = {}): HostTarget {
  try {
    loadProgram(sys, { type: BpfProgType.SOCKET_FILTER, insns: RET0_EXIT, license: 'GPL' }).close();
  } catch (err) {
    if (isErrno(err, Errno.EPERM) || isErrno(err, Errno.EACCES)) throw new HostProbeError('bpf(BPF_PROG_LOAD) is not permitted (EPERM): run as root or with CAP_BPF (and CAP_NET_ADMIN/CAP_PERFMON), or check kernel.unprivileged_bpf_disabled', { cause: err });
    if (err instanceof KernelError) throw new HostProbeError(`bpf(BPF_PROG_LOAD) of a socket filter fails with ${err.errnoName}`, { cause: err });
    throw new HostProbeError(`bpf(2) is not usable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const bootId = readBootId();
  const dir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const file = dir === null ? undefined : path.join(dir, `${bootId.replace(/[^\w.-]/g, '_')}.json`);
  const answers: Answers = readCache(file) ?? { release: release(), programTypes: {}, mapTypes: {}, helpers: {}, kfuncs: {} };
  const stats = { cached: 0, probed: 0 };
  let dirty = false;
  const ask = (table: Record<string, boolean>, key: string, probe: () => boolean): boolean => {
    const known = table[key];
    if (known !== undefined) {
      stats.cached++;
      return known;
    }
    const v = probe();
    stats.probed++;
    table[key] = v;
    dirty = true;
    return v;
  };
  return {
    name: `host ${release()}`,
    bootId,
    stats,
    programTypeAllowed: (type) => ask(answers.programTypes, String(type), () => probeProgramType(sys, type)),
    mapTypeAllowed: (type) => ask(answers.mapTypes, String(type), () => probeMapType(sys, type)),
    helperAllowed: (type, id) =>
      ask(answers.helpers, `${type}:${id}`, () => {
        try {
          return probeHelper(sys, type, id);
        } catch (err) {
          // A type whose probe program the kernel refuses outright cannot say: the upstream model decides.
          if (isErrno(err, Errno.EPERM) || isErrno(err, Errno.EACCES)) return true;
          throw err;
        }
      }),
    kfuncAllowed: (type, kfunc) =>
      ask(answers.kfuncs, `${type}:${kfunc}`, () => {
        try {
          return probeKfunc(sys, type, kfunc, options.kernelBtf);
        } catch (err) {
          // Not in the kernel's BTF: the verifier names that itself; EPERM: the model decides.
          if (err instanceof KfuncNotInKernelError || isErrno(err, Errno.EPERM) || isErrno(err, Errno.EACCES)) return true;
          throw err;
        }
      }),
    save() {
      if (!file || !dirty) return;
      try {
        mkdirSync(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        writeFileSync(tmp, `${JSON.stringify(answers, null, 1)}\n`);
        renameSync(tmp, file);
        dirty = false;
      } catch {
        // A cache that cannot be written only costs probing again next time.
      }
    },
  };
}
