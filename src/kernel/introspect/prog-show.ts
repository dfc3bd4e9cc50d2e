// Programs as `bpftool prog show -j` describes them: one record per program, bpftool's field names.
import { parseBtf } from '../../btf/index.js';
import { programTypeName } from '../../isa/program-types.js';
import { Errno } from '../errno.js';
import { isErrno } from '../kernel-error.js';
import { fdById, ids } from '../bpf/obj-id.js';
import { programInfo } from '../bpf/obj-info.js';
import { OBJ_NAME_LEN } from '../bpf/object-name.js';
import type { Fd } from '../fd.js';
import type { Sys } from '../sys.js';
import { fdinfo, fdinfoNumber } from './fdinfo.js';
import { programCode, rawBtf } from './info-buffers.js';

/** One program, with `bpftool prog show -j`'s field names (optional fields as bpftool omits them). */
export interface ProgramRecord {
  readonly id: number;
  /** bpftool's type name (`xdp`, `sched_cls`...). */
  readonly type: string;
  /** Full name: the kernel keeps 15 characters, the rest comes from the program's BTF as bpftool does. */
  readonly name?: string;
  /** 16 hex digits. */
  readonly tag: string;
  readonly gpl_compatible: boolean;
  /** Load time, seconds since the epoch. */
  readonly loaded_at: number;
  readonly uid: number;
  readonly bytes_xlated: number;
  readonly jited: boolean;
  readonly bytes_jited?: number;
  /** From /proc/self/fdinfo. */
  readonly bytes_memlock?: number;
  readonly map_ids?: readonly number[];
  readonly btf_id?: number;
  /** Run count and time, present when kernel.bpf_stats_enabled collected any. */
  readonly run_time_ns?: number;
  readonly run_cnt?: number;
  /** Instructions the verifier processed. */
  readonly verified_insns?: number;
}

/** Wall-clock seconds at boot (now minus /proc/uptime), for turning boot-relative times into dates. */
export function bootTimeSeconds(sys: Sys): number {
  const uptime = Number(new TextDecoder().decode(sys.readFile('/proc/uptime')).split(' ')[0]);
  return Date.now() / 1000 - uptime;
}

/** The program's full name: the kernel's 15-character name completed from the BTF FUNC of its entry, as bpftool does. */
export function programFullName(fd: Fd<'prog'>, shortName: string): string {
  if (shortName.length !== OBJ_NAME_LEN - 1) return shortName;
  try {
    const code = programCode(fd);
    const first = code.funcInfo[0];
    if (!code.btfId || !first) return shortName;
    using btfFd = fdById(fd.sys, 'btf', code.btfId);
    const name = parseBtf(rawBtf(btfFd)).typeById(first.typeId).name;
    return name.startsWith(shortName) ? name : shortName;
  } catch {
    return shortName;
  }
}

/** Describes the program behind `fd` the way `bpftool prog show` does. */
export function describeProgram(fd: Fd<'prog'>, bootTime = bootTimeSeconds(fd.sys)): ProgramRecord {
  const info = programInfo(fd);
  const fdi = fdinfo(fd);
  const name = info.name ? programFullName(fd, info.name) : '';
  return {
    id: info.id,
    type: programTypeName(info.type),
    ...(name ? { name } : {}),
    tag: info.tag,
    gpl_compatible: info.gplCompatible,
    loaded_at: Math.floor(bootTime + Number(info.loadTime) / 1e9),
    uid: info.createdByUid,
    bytes_xlated: info.xlatedProgLen,
    jited: info.jitedProgLen > 0,
    ...(info.jitedProgLen > 0 ? { bytes_jited: info.jitedProgLen } : {}),
    ...(fdinfoNumber(fdi, 'memlock') !== undefined ? { bytes_memlock: fdinfoNumber(fdi, 'memlock')! } : {}),
    ...(info.mapIds.length ? { map_ids: info.mapIds } : {}),
    ...(info.btfId ? { btf_id: info.btfId } : {}),
    ...(info.runCount > 0n ? { run_time_ns: Number(info.runTimeNs), run_cnt: Number(info.runCount) } : {}),
    ...(info.verifiedInsns ? { verified_insns: info.verifiedInsns } : {}),
  };
}

/** Runs `fn` on each live object of `kind` (opened by id); objects that vanish meanwhile are skipped. */
export function forEachObject<K extends 'prog' | 'map' | 'link' | 'btf', T>(sys: Sys, kind: K, fn: (fd: Fd<K>) => T): T[] {
  const out: T[] = [];
  for (const id of ids(sys, kind)) {
    let fd: Fd<K>;
    try {
      fd = fdById(sys, kind, id);
    } catch (err) {
      if (isErrno(err, Errno.ENOENT)) continue;
      throw err;
    }
    try {
      out.push(fn(fd));
    } finally {
      fd.close();
    }
  }
  return out;
}

/** Every program loaded in the kernel, in id order, as `bpftool prog show -j` lists them. */
export function listPrograms(sys: Sys): ProgramRecord[] {
  const boot = bootTimeSeconds(sys);
  return forEachObject(sys, 'prog', (fd) => describeProgram(fd, boot));
}
