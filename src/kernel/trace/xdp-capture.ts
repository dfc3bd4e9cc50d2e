// XdpCapture: what an attached XDP program sees, captured without fentry/fexit — a recorder swapped in atomically in front of it.
//
// Entry capture: a program array holds the attached program; a recorder built for the capture
// (xdp-capture-program.ts) records each packet and tail-calls it. Entry and exit capture with the
// program's object: the object's program is linked again (with the attached program's own maps)
// and called as a subprogram of a wrapper that records before and after it, with its action.
// The swap is atomic both ways: BPF_LINK_UPDATE with the expected old program for an XDP link,
// RTM_SETLINK with XDP_FLAGS_REPLACE and the expected fd for a netlink attachment.
import { applyProgramType } from '../../elf/program-type.js';
import type { ObjectSpec } from '../../elf/object-spec.js';
import { encode } from '../../isa/encode.js';
import { BpfkitError } from '../../errors.js';
import { attachXdp, queryXdp, type XdpMode } from '../attach/xdp.js';
import { AttachType, MapType, ProgType } from '../bpf/constants.js';
import { createMap } from '../bpf/map-create.js';
import { possibleCpus, type MapFd } from '../bpf/map-fd.js';
import { updateElem } from '../bpf/map-elem.js';
import { fdById, mapFdById } from '../bpf/obj-id.js';
import { mapInfo, programInfo, type ProgramInfo } from '../bpf/obj-info.js';
import { loadProgram, type ProgFd } from '../bpf/prog-load.js';
import type { Fd } from '../fd.js';
import { KernelError } from '../kernel-error.js';
import { loadKernelObject } from '../object/load-object.js';
import { PerfReader } from '../perf-reader.js';
import type { Sys } from '../sys.js';
import { VerifierError } from '../verifier-error.js';
import { callingWrapper, decodeCaptureSample, entryWrapper, type XdpCaptureRecord } from './xdp-capture-program.js';

/** The interface has no XDP program attached: there is nothing to capture at its hook. */
export class NoXdpProgramError extends BpfkitError {
  constructor(readonly ifname: string) {
    super('ERR_NO_XDP_PROGRAM', `no XDP program is attached to ${ifname}: xdp dump captures what an attached program sees (attach one first)`);
  }
}

/** Exit capture was asked without the program's object (fexit, its usual means, is refused by this kernel). */
export class ExitCaptureError extends BpfkitError {
  constructor(detail: string) {
    super('ERR_EXIT_CAPTURE', detail);
  }
}

/** Options of {@link XdpCapture.start}. */
export interface XdpCaptureOptions {
  /** Where: `'entry'` (default), `'exit'` or `'both'`; exit needs `object`. */
  readonly at?: 'entry' | 'exit' | 'both';
  /** Bytes captured per packet (default 262144, xdpdump's). */
  readonly snaplen?: number;
  /** The attached program's object (and program name when it has several XDP programs): enables exit capture. */
  readonly object?: { readonly spec: ObjectSpec; readonly program?: string };
  /** Perf ring pages per CPU (default 64). */
  readonly pagesPerCpu?: number;
}

const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** What was attached before the capture, as it was found. */
export interface CapturedProgram {
  readonly id: number;
  readonly name: string;
  readonly tag: string;
}

/**
 * A running capture on one interface. Records arrive through {@link records}; `restore()` (also
 * done by `close()` / `using`) puts the original program back, atomically and only if the
 * recorder is still the one attached.
 */
export class XdpCapture implements Disposable {
  /** Interface index and name. */
  readonly ifindex: number;
  readonly ifname: string;
  /** XDP mode of the attachment. */
  readonly mode: XdpMode;
  /** `'link'` when the program sits behind a bpf_link (swapped with BPF_LINK_UPDATE), `'netlink'` otherwise; undefined before {@link swapIn}. */
  via: 'link' | 'netlink' | undefined;
  /** The program that was attached. */
  readonly original: CapturedProgram;
  /** The recorder's program id. */
  readonly recorderId: number;
  /** Where packets are recorded. */
  readonly at: { readonly entry: boolean; readonly exit: boolean };
  readonly #sys: Sys;
  readonly #orig: Fd<'prog'>;
  readonly #recorder: ProgFd;
  readonly #maps: MapFd[];
  readonly #reader: PerfReader;
  #swapped = false;
  #restored = false;

  private constructor(sys: Sys, f: { ifindex: number; ifname: string; mode: XdpMode; orig: Fd<'prog'>; origInfo: ProgramInfo; recorder: ProgFd; maps: MapFd[]; reader: PerfReader; at: { entry: boolean; exit: boolean } }) {
    this.#sys = sys;
    this.ifindex = f.ifindex;
    this.ifname = f.ifname;
    this.mode = f.mode;
    this.via = undefined;
    this.#orig = f.orig;
    this.original = { id: f.origInfo.id, name: f.origInfo.name, tag: f.origInfo.tag };
    this.#recorder = f.recorder;
    this.recorderId = programInfo(f.recorder).id;
    this.#maps = f.maps;
    this.#reader = f.reader;
    this.at = f.at;
  }

  /** {@link prepare}, then {@link swapIn}: capturing from the moment it returns. */
  static start(sys: Sys, dev: string | number, options: XdpCaptureOptions = {}): XdpCapture {
    const cap = XdpCapture.prepare(sys, dev, options);
    try {
      cap.swapIn();
    } catch (err) {
      cap.close();
      throw err;
    }
    return cap;
  }

  /**
   * Builds and loads the recorder for what is attached to `dev` and opens the perf rings, without
   * touching the interface yet ({@link swapIn} does). Throws {@link NoXdpProgramError} when
   * nothing is attached, {@link ExitCaptureError} for exit capture without the object (or with
   * another program's).
   */
  static prepare(sys: Sys, dev: string | number, options: XdpCaptureOptions = {}): XdpCapture {
    const at = { entry: options.at !== 'exit', exit: options.at === 'exit' || options.at === 'both' };
    const snaplen = options.snaplen ?? 262144;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 0x7fffffff) throw new BpfkitError('ERR_INVALID_ARGUMENT', `snaplen must be a positive integer, got ${snaplen}`);
    const attached = queryXdp(sys, dev);
    const first = attached[0];
    if (!first) throw new NoXdpProgramError(typeof dev === 'number' ? `ifindex ${dev}` : dev);
    if (at.exit && !options.object) {
      throw new ExitCaptureError(`capturing at exit needs the attached program's object (--obj FILE): its code is called from a recorder; fexit, xdpdump's way, is refused by this kernel`);
    }
    const cleanup: { close(): void }[] = [];
    try {
      const orig = fdById(sys, 'prog', first.progId);
      cleanup.push(orig);
      const origInfo = programInfo(orig);
      const perf = createMap(sys, { type: MapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: possibleCpus(sys), name: 'bpfkit_xdpdump' });
      cleanup.push(perf);
      const maps = [perf];
      let recorder: ProgFd;
      if (options.object) {
        recorder = loadCallingRecorder(sys, origInfo, options.object, perf, snaplen, at);
      } else {
        const progArray = createMap(sys, { type: MapType.PROG_ARRAY, keySize: 4, valueSize: 4, maxEntries: 1, name: 'bpfkit_xdpd_tc' });
        cleanup.push(progArray);
        maps.push(progArray);
        // The attached program goes in first: it makes the array's owner, and the recorder must match it.
        updateElem(progArray, new Uint8Array(4), u32(orig.raw));
        recorder = loadMatching(sys, entryWrapper(perf.raw, progArray.raw, snaplen));
      }
      cleanup.push(recorder);
      const reader = new PerfReader(perf, { pagesPerCpu: options.pagesPerCpu ?? 64 });
      cleanup.push(reader);
      return new XdpCapture(sys, { ifindex: first.ifindex, ifname: first.ifname, mode: first.mode, orig, origInfo, recorder, maps, reader, at });
    } catch (err) {
      for (const c of cleanup.reverse()) c.close();
      throw err;
    }
  }

  /** Swaps the recorder in for the original program, atomically (fails if the original was replaced meanwhile). */
  swapIn(): void {
    if (this.#swapped) return;
    const att = attachXdp(this.#sys, this.#recorder, this.ifindex, { mode: this.mode, expected: this.#orig, replace: true });
    att.release();
    this.via = att.via;
    this.#swapped = true;
  }

  /** Records as they arrive (ends when the capture is closed). */
  async *records(): AsyncGenerator<XdpCaptureRecord> {
    for await (const s of this.#reader) {
      const r = decodeCaptureSample(s.data, s.cpu);
      if (r) yield r;
    }
  }

  /** Records ready now, without waiting. */
  drain(): XdpCaptureRecord[] {
    const out: XdpCaptureRecord[] = [];
    for (const s of this.#reader.read()) {
      const r = decodeCaptureSample(s.data, s.cpu);
      if (r) out.push(r);
    }
    return out;
  }

  /** Records the kernel could not deliver because a ring was full (PERF_RECORD_LOST). */
  get lost(): number {
    return this.#reader.lost;
  }

  /**
   * Puts the original program back: atomically, and only if the recorder is still attached
   * (a program someone attached meanwhile is left alone). Returns whether it swapped. Idempotent.
   */
  restore(): boolean {
    if (this.#restored || !this.#swapped) return false;
    this.#restored = true;
    return restoreXdp(this.#sys, this.ifindex, this.mode, this.#orig, this.#recorder);
  }

  /** Restores, then closes the reader, maps and program fds (the recorder program is freed). */
  close(): void {
    try {
      this.restore();
    } finally {
      this.#reader.close();
      for (const m of this.#maps) m.close();
      this.#recorder.close();
      this.#orig.close();
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Swaps `recorder` back for `orig` on `ifindex` if the recorder is the one attached; true when swapped. */
export function restoreXdp(sys: Sys, ifindex: number, mode: XdpMode, orig: Fd<'prog'>, recorder: Fd<'prog'>): boolean {
  const now = queryXdp(sys, ifindex).find((a) => a.mode === mode);
  if (!now || now.progId !== programInfo(recorder).id) return false;
  try {
    attachXdp(sys, orig, ifindex, { mode, expected: recorder, replace: true }).release();
    return true;
  } catch (err) {
    // Replaced between the check and the swap: not ours to undo.
    if (err instanceof KernelError && (err.errnoName === 'EEXIST' || err.errnoName === 'EBUSY' || err.errnoName === 'EINVAL')) return false;
    throw err;
  }
}

const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

/**
 * Loads an XDP recorder compatible with the program it sits in front of: tail calls and the
 * attach need the same expected attach type and frags flag, which program info does not report,
 * so the combinations are tried (BPF_XDP first, as libbpf loads SEC("xdp")).
 */
function loadMatching(sys: Sys, insns: Uint8Array): ProgFd {
  let last: unknown;
  for (const expectedAttachType of [AttachType.XDP, undefined]) {
    for (const flags of [0, BPF_F_XDP_HAS_FRAGS]) {
      try {
        return loadProgram(sys, { type: ProgType.XDP, insns, license: 'GPL', name: 'bpfkit_xdpdump', flags, ...(expectedAttachType !== undefined ? { expectedAttachType } : {}) });
      } catch (err) {
        if (!(err instanceof VerifierError) && !(err instanceof KernelError && err.errnoName === 'EINVAL')) throw err;
        last = err;
      }
    }
  }
  throw last;
}

/**
 * The entry/exit recorder: the object's program linked again with the attached program's maps
 * (matched by name), checked to be the attached one (same tag), called from the wrapper.
 */
function loadCallingRecorder(sys: Sys, origInfo: ProgramInfo, object: { spec: ObjectSpec; program?: string }, perf: MapFd, snaplen: number, at: { entry: boolean; exit: boolean }): ProgFd {
  const untyped = Object.fromEntries(object.spec.programs.filter((p) => p.type === 0).map((p) => [p.name, 'xdp']));
  const spec = applyProgramType(object.spec, untyped);
  const xdp = spec.programs.filter((p) => p.type === ProgType.XDP && (object.program === undefined || p.name === object.program));
  const byName = xdp.filter((p) => p.name.slice(0, 15) === origInfo.name);
  const p = object.program !== undefined ? xdp[0] : byName.length === 1 ? byName[0] : xdp.length === 1 ? xdp[0] : undefined;
  if (!p) throw new ExitCaptureError(`the object has no XDP program ${object.program !== undefined ? `named ${object.program}` : `matching the attached ${origInfo.name || `prog ${origInfo.id}`} (give its name with --prog)`}`);
  const replacements: Record<string, MapFd> = {};
  const opened: MapFd[] = [];
  try {
    for (const id of origInfo.mapIds) {
      const m = mapFdById(sys, id);
      opened.push(m);
      const name = mapInfo(m).name;
      const spec0 = spec.maps.find((s) => (s.kernelName ?? s.name).slice(0, 15) === name || s.name.slice(0, 15) === name);
      if (spec0) replacements[spec0.name] = m;
    }
    using obj = loadKernelObject(sys, spec, { programs: [p.name], mapReplacements: replacements });
    const kp = obj.program(p.name);
    const tag = kp.info().tag;
    if (tag !== origInfo.tag) {
      throw new ExitCaptureError(`program ${p.name} of the object (tag ${tag}) is not the attached program ${origInfo.name} (id ${origInfo.id}, tag ${origInfo.tag})`);
    }
    return loadMatching(sys, callingWrapper(perf.raw, snaplen, encode(kp.instructions), at));
  } finally {
    for (const m of opened) m.close();
  }
}
