// ProgramTypeOps: what a program type contributes — context layout and access rules, helper
// set, and BPF_PROG_TEST_RUN semantics — so the verifier and runtimes stay generic.
//
// Modelled on net/core/filter.c: `xdp_verifier_ops = { get_func_proto, is_valid_access,
// convert_ctx_access }` and `xdp_prog_ops = { test_run }`. One file per type in src/ctx
// (xdp.ts, tc.ts, socket-filter.ts) exports one ProgramTypeOps; registry.ts lists them.

import type { Btf } from '../btf/index.js';
import type { AddressSpace } from '../vm/address-space.js';
import type { SkbData } from '../vm/interpreter.js';
import type { KernelTraits } from './kernel-traits.js';
import type { NetDevice } from './net-device.js';

/**
 * What a context load yields, as the verifier types it: a scalar, or a pointer the kernel's
 * `convert_ctx_access` produces (`xdp_md.data` -> PTR_TO_PACKET).
 */
export type CtxValueType = 'scalar' | 'pkt' | 'pkt_end' | 'pkt_meta' | 'sock' | 'sock_common' | 'ctx' | 'flow_keys' | 'btf_id' | 'tp_buffer';

/** A context access the type allows. */
export interface CtxAccess {
  /** Field name (`data_end`, `mark`, `cb[2]`). */
  readonly field: string;
  /** Type of the register after a load (writes: the field's type). */
  readonly type: CtxValueType;
  /** For `btf_id`: the kernel struct the trusted pointer points to (`sk_buff`, `nf_hook_state`). */
  readonly btf?: string;
  /** For `sock`/`sock_common`: the pointer is never NULL (PTR_TO_SOCKET, not PTR_TO_SOCKET_OR_NULL: sk_reuseport_md.sk, sk_msg_md.sk). */
  readonly notNull?: boolean;
  /** For `btf_id`: PTR_TRUSTED (default true); false for a plain PTR_TO_BTF_ID (fentry arguments). */
  readonly trusted?: boolean;
  /** For `btf_id`: PTR_MAYBE_NULL (a `__nullable` argument, an iterator's object). */
  readonly maybeNull?: boolean;
}

/** A context access the type refuses, with the kernel's reason. */
export interface CtxAccessDenied {
  /** The verifier's message: `invalid bpf_context access off=76 size=4`. */
  readonly reason: string;
  /** The line the kernel logs before the reason, when it says more (`func 'x' size 4 must be 8`). */
  readonly detail?: string;
}

/** The result of checking one context access. */
export type CtxAccessCheck = CtxAccess | CtxAccessDenied;

/** One program type's rules and runtime behaviour. */
export interface ProgramTypeOps {
  /** `enum bpf_prog_type`. */
  readonly type: number;
  /** bpftool's name (`xdp`, `sched_cls`, `socket_filter`). */
  readonly name: string;
  /** sizeof the context struct (`struct xdp_md` = 24, `struct __sk_buff` = 192). */
  readonly ctxSize: number;
  /** The `expected_attach_type` BPF_PROG_LOAD needs for this type (sk_lookup: BPF_SK_LOOKUP), when it needs one. */
  readonly expectedAttachType?: number;
  /**
   * is_valid_access: may a program load (`write` false) or store `size` bytes at context
   * offset `off`? Exactly the kernel's rules for this type, including narrow loads.
   * `signExtend`: the load is a sign-extending one (BPF_MEMSX), which the kernel refuses for
   * the packet pointer fields. `privileged` (default true): the loader has CAP_BPF (cgroup_skb's
   * direct packet access and tstamp stores need it). `attachType`: the program's
   * expected_attach_type, for types whose rules depend on it (cgroup_sock).
   */
  checkAccess(off: number, size: number, write: boolean, signExtend?: boolean, privileged?: boolean, attachType?: number): CtxAccessCheck;
  /**
   * get_func_proto: may this type call helper `id` (privileged program)? `attachType`: the
   * program's expected_attach_type, for types whose helper set depends on it (cgroup_sock_addr's
   * bpf_bind at connect only, bpf_get_retval at the hooks whose result is an errno).
   */
  helperAllowed(id: number, attachType?: number): boolean;
}

/** Input of one run, shaped like BPF_PROG_TEST_RUN's attributes. */
export interface RunInput {
  /** data_in: the packet. */
  readonly data: Uint8Array;
  /** ctx_in: the context struct bytes, or undefined for the kernel's defaults. */
  readonly ctxIn?: Uint8Array;
}

/** The per-address-space state of one program type: its context and packet regions, reused across runs. */
export interface ContextInstance {
  /** Sets up a run as the kernel's test_run does (validating ctx_in); returns the ctx pointer for r1. */
  setup(input: RunInput): number;
  /** data_out after the run (after head/tail/meta adjustments). */
  dataOut(): Uint8Array;
  /** ctx_out after the run, in the kernel's layout (`retval`: the program's return value, for types whose ctx_out depends on it, as sk_lookup's). */
  ctxOut(retval?: number): Uint8Array;
  /** skb types: where LD_ABS/LD_IND read (set it as the interpreter's `skb` after setup). */
  skb?(): SkbData | undefined;
}

/** Options of `createContext` (see {@link DEFAULT_KERNEL_TRAITS} in kernel-traits.ts for `kernel`). */
export interface ContextOptions {
  /** Devices a ctx_in may name by ifindex (default: loopback, ifindex 1, only). */
  readonly devices?: (ifindex: number) => NetDevice | undefined;
  /** Build-dependent behaviours of the kernel being reproduced (default: {@link DEFAULT_KERNEL_TRAITS}). */
  readonly kernel?: Partial<KernelTraits>;
  /** The object's BTF: the layout of kernel structs a context hands out by pointer (netfilter's sk_buff and net_device). */
  readonly btf?: Btf;
}

/** Program types that run in userspace add how to build their context in an address space. */
export interface RunnableProgramType extends ProgramTypeOps {
  /** Creates the context and packet regions of this type in `space`. */
  createContext(space: AddressSpace, options?: ContextOptions): ContextInstance;
}
