// Feature probes: ask the kernel once whether it has a feature, cache the answer per Sys.
import { NotSupportedError } from '../errors.js';
import { MapType, ProgType } from './bpf/constants.js';
import { createMap } from './bpf/map-create.js';
import { lookupBatch } from './bpf/map-batch.js';
import { loadProgram } from './bpf/prog-load.js';
import { Errno } from './errno.js';
import { isErrno } from './kernel-error.js';
import type { Sys } from './sys.js';
import { VerifierError } from './verifier-error.js';
import { BpfAttachType, BpfProgType } from '../isa/uapi.generated.js';

/** A kernel feature and how to detect it. */
export interface Feature {
  /** What users read in the error: `'BPF_MAP_TYPE_RINGBUF'`, `'batch map operations'`. */
  readonly name: string;
  /** First kernel with it, e.g. `'5.8'`. */
  readonly minKernel: string;
  /**
   * Returns true if present, false if absent. Throws for an answer that is neither (EPERM):
   * such errors are not cached, so a later call asks again.
   */
  probe(sys: Sys): boolean;
}

const cache = new WeakMap<Sys, Map<Feature, boolean>>();

/** Whether the kernel behind `sys` has `feature` (probed once per Sys, then cached). */
export function haveFeature(sys: Sys, feature: Feature): boolean {
  let known = cache.get(sys);
  if (!known) cache.set(sys, (known = new Map()));
  let have = known.get(feature);
  if (have === undefined) {
    have = feature.probe(sys);
    known.set(feature, have);
  }
  return have;
}

/** Throws `NotSupportedError { feature, minKernel }` unless the kernel has `feature`. */
export function requireFeature(sys: Sys, feature: Feature): void {
  if (!haveFeature(sys, feature)) throw new NotSupportedError(feature.name, feature.minKernel);
}

/** True for the errnos a kernel answers with when it does not know a type, command or flag. */
export function isUnsupportedErrno(err: unknown): boolean {
  return isErrno(err, Errno.EINVAL) || isErrno(err, Errno.ENOTSUPP) || isErrno(err, Errno.EOPNOTSUPP) || isErrno(err, Errno.E2BIG);
}

/** A feature probed by creating a small map of `type`. */
export function mapTypeFeature(name: string, minKernel: string, type: number, keySize = 4, valueSize = 4, maxEntries = 1, flags = 0): Feature {
  return {
    name,
    minKernel,
    probe(sys) {
      try {
        createMap(sys, { type, keySize, valueSize, maxEntries, flags }).close();
        return true;
      } catch (err) {
        if (isUnsupportedErrno(err)) return false;
        throw err;
      }
    },
  };
}

/** A feature probed by loading `r0 = 0; exit` as a program of `type`. */
export function progTypeFeature(name: string, minKernel: string, type: number): Feature {
  const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  return {
    name,
    minKernel,
    probe(sys) {
      try {
        loadProgram(sys, { type, insns, license: 'GPL' }).close();
        return true;
      } catch (err) {
        if (isUnsupportedErrno(err) || err instanceof VerifierError) return false;
        throw err;
      }
    },
  };
}

const helperCache = new WeakMap<Sys, Map<string, boolean>>();

/** Expected attach types libbpf's probe_prog_load gives the types that refuse to load without one. */
export const PROBE_ATTACH_TYPE: ReadonlyMap<number, number> = new Map<number, number>([
  [BpfProgType.CGROUP_SOCK_ADDR, BpfAttachType.CGROUP_INET4_CONNECT],
  [BpfProgType.CGROUP_SOCKOPT, BpfAttachType.CGROUP_GETSOCKOPT],
  [BpfProgType.SK_LOOKUP, BpfAttachType.SK_LOOKUP],
  [BpfProgType.NETFILTER, BpfAttachType.NETFILTER],
]);

/**
 * Whether programs of `type` may call helper `helperId` on the kernel behind `sys` (as libbpf's
 * libbpf_probe_bpf_helper asks): loads `call helperId; exit` and reads the verifier's reason.
 * Builds of one kernel version differ here (one 6.18 build refuses bpf_xdp_adjust_meta in XDP),
 * so tests that compare with the kernel ask first. Cached per Sys; throws for answers that are
 * neither (EPERM).
 */
export function probeHelper(sys: Sys, type: number, helperId: number): boolean {
  let known = helperCache.get(sys);
  if (!known) helperCache.set(sys, (known = new Map()));
  const key = `${type}:${helperId}`;
  let have = known.get(key);
  if (have === undefined) {
    const insns = new Uint8Array(16);
    const v = new DataView(insns.buffer);
    insns[0] = 0x85; // call helperId
    v.setInt32(4, helperId, true);
    insns[8] = 0x95; // exit
    const expectedAttachType = PROBE_ATTACH_TYPE.get(type);
    try {
      loadProgram(sys, { type, insns, license: 'GPL', logLevel: 1, ...(expectedAttachType !== undefined ? { expectedAttachType } : {}) }).close();
      have = true;
    } catch (err) {
      // As libbpf: only the verifier saying so means "not available"; any other refusal (R1
      // !read_ok, EINVAL for a type that needs more attributes) means the type may call it.
      if (err instanceof VerifierError) have = !/cannot use helper|invalid func |unknown func /.test(err.log);
      else if (isErrno(err, Errno.EPERM) || isErrno(err, Errno.EACCES)) throw err;
      else have = true;
    }
    known.set(key, have);
  }
  return have;
}

/** Known features. Each names the kernel that introduced it. */
export const Features = {
  /** `BPF_PROG_TYPE_XDP`. */
  xdpProgram: progTypeFeature('BPF_PROG_TYPE_XDP', '4.8', ProgType.XDP),
  /** `BPF_MAP_TYPE_RINGBUF`. */
  ringbufMap: mapTypeFeature('BPF_MAP_TYPE_RINGBUF', '5.8', MapType.RINGBUF, 0, 0, 4096),
  /** `BPF_MAP_LOOKUP_BATCH` and friends on hash maps. */
  batchOps: {
    name: 'batch map operations',
    minKernel: '5.6',
    probe(sys: Sys): boolean {
      try {
        using map = createMap(sys, { type: MapType.HASH, keySize: 4, valueSize: 4, maxEntries: 1 });
        lookupBatch(map, 1);
        return true;
      } catch (err) {
        if (isUnsupportedErrno(err)) return false;
        throw err;
      }
    },
  },
} satisfies Record<string, Feature>;
