// Kfunc probe: does the running kernel let programs of a type call a kfunc (loads a tiny caller by BTF id).
import type { Btf } from '../btf/index.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import { KfuncNotInKernelError } from '../verifier/kfunc-resolve.js';
import { Errno } from './errno.js';
import { PROBE_ATTACH_TYPE } from './feature-probe.js';
import { isErrno } from './kernel-error.js';
import { loadProgram } from './bpf/prog-load.js';
import { vmlinuxBtf } from './object/vmlinux.js';
import type { Sys } from './sys.js';
import { VerifierError } from './verifier-error.js';

const cache = new WeakMap<Sys, Map<string, boolean>>();

/** One encoded instruction (8 bytes). */
function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  v.setInt16(2, off, true);
  v.setInt32(4, imm, true);
  return [...b];
}

const movImm = (dst: number, imm: number): number[] => insn(0xb7, dst, 0, 0, imm);
const movReg = (dst: number, src: number): number[] => insn(0xbf, dst, src, 0, 0);
const addImm = (dst: number, imm: number): number[] => insn(0x07, dst, 0, 0, imm);
/** `call` of the vmlinux kfunc with BTF id `id` (src_reg BPF_PSEUDO_KFUNC_CALL, off 0: vmlinux). */
const callKfunc = (id: number): number[] => insn(0x85, 0, 2, 0, id);
const exit = (): number[] => insn(0x95, 0, 0, 0, 0);

/** The verifier's words for "this type may not call it": the set check, or a build's own refusal after the arguments. */
function refusedIn(log: string, kfunc: string): boolean {
  return new RegExp(`calling kernel function ${kfunc} is not allowed|(^|\\n)${kfunc}\\(\\) is not allowed`).test(log);
}

/** Loads `insns` as a program of `type`; the verifier log of a refusal, `''` when it loaded, `undefined` for other errors. */
function tryLoad(sys: Sys, type: number, insns: number[]): string | undefined {
  const expectedAttachType = PROBE_ATTACH_TYPE.get(type);
  try {
    loadProgram(sys, { type, insns: new Uint8Array(insns), license: 'GPL', logLevel: 1, ...(expectedAttachType !== undefined ? { expectedAttachType } : {}) }).close();
    return '';
  } catch (err) {
    if (err instanceof VerifierError) return err.log;
    if (isErrno(err, Errno.EPERM)) throw err;
    return undefined;
  }
}

/**
 * Whether programs of `type` may call kfunc `kfunc` on the kernel behind `sys`. Two loads, as far
 * as needed: a bare `call kfunc` (the kernel refuses a kfunc whose id set the type lacks with
 * "calling kernel function K is not allowed" before reading any argument); then, for kfuncs whose
 * first argument is a dynptr, a call on a dynptr made from the context (`bpf_dynptr_from_xdp` in
 * XDP, `bpf_dynptr_from_skb` elsewhere), because some builds refuse a kfunc only after checking
 * its arguments ("bpf_dynptr_slice_rdwr() is not allowed" in XDP on one 6.18 build). Any other
 * refusal (argument types, a device-bound program needed) means the type may call it, as libbpf's
 * helper probe reads it. Kfuncs of the kernel's own BTF only: one absent from it throws
 * KfuncNotInKernelError. `btf` is the kernel's BTF when the caller has parsed it already (default:
 * read through `sys`). Cached per Sys; EPERM throws and is not cached.
 */
export function probeKfunc(sys: Sys, type: number, kfunc: string, btf?: Btf): boolean {
  let known = cache.get(sys);
  if (!known) cache.set(sys, (known = new Map()));
  const key = `${type}:${kfunc}`;
  let allowed = known.get(key);
  if (allowed === undefined) {
    const kernel = btf ?? vmlinuxBtf(sys);
    const idOf = (name: string): number | undefined => kernel.typesByName(name).find((t) => t.kind === 'func')?.id;
    const id = idOf(kfunc);
    if (id === undefined) throw new KfuncNotInKernelError(kfunc);
    const bare = tryLoad(sys, type, [...callKfunc(id), ...movImm(0, 0), ...exit()]);
    allowed = bare === undefined || !refusedIn(bare, kfunc);
    if (allowed && bare && /arg#0 expected pointer to stack or const struct bpf_dynptr/.test(bare)) {
      const ctor = idOf(type === BpfProgType.XDP ? 'bpf_dynptr_from_xdp' : 'bpf_dynptr_from_skb');
      if (ctor !== undefined) {
        // r1 = ctx; r2 = 0 (flags); r3 = fp-16: ctor(ctx, 0, &d); then kfunc(&d, 0, NULL, 8, 0).
        const log = tryLoad(sys, type, [
          ...movImm(2, 0),
          ...movReg(3, 10),
          ...addImm(3, -16),
          ...callKfunc(ctor),
          ...movReg(1, 10),
          ...addImm(1, -16),
          ...movImm(2, 0),
          ...movImm(3, 0),
          ...movImm(4, 8),
          ...movImm(5, 0),
          ...callKfunc(id),
          ...movImm(0, 0),
          ...exit(),
        ]);
        allowed = log === undefined || !refusedIn(log, kfunc);
      }
    }
    known.set(key, allowed);
  }
  return allowed;
}
