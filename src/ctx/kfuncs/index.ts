// Kfunc implementations for the userspace runtime with BPF_PROG_TEST_RUN semantics: XDP RX metadata, skb/xdp dynptrs and slices, conntrack (conntrack.ts).
import { ExecutionError } from '../../vm/errors.js';
import type { Btf } from '../../btf/index.js';
import { type ConntrackModel, conntrackKfuncs } from './conntrack.js';
import { castToKernCtx } from './kern-ctx.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { createHelperEnv, type HelperEnv } from '../helpers/env.js';
import { argU32, argU64, Errno, helperPtr } from '../helpers/memory.js';
import { SkbContext } from '../skb-context.js';
import { XdpContext } from '../xdp-buff.js';

/** Options of {@link createKfuncs}. */
export interface KfuncOptions {
  /** The conntrack table (default: empty, as a test run's namespace). */
  readonly conntrack?: ConntrackModel;
  /**
   * The object's BTF. The userspace runtime runs a program as compiled (CO-RE relocations are
   * the kernel loader's business), so `ct->status` and `ct->mark` are at the offsets of the
   * program's own `struct nf_conn` (`preserve_access_index` views, flavours `nf_conn___x`
   * included): the conntrack objects are laid out by it unless the model gives a layout.
   */
  readonly objectBtf?: Btf;
}

/** enum bpf_dynptr_type of the packet dynptrs (struct bpf_dynptr_kern's type bits). */
const DYNPTR_XDP = 4;
const DYNPTR_SKB = 3;

const ctxOf = (env: HelperEnv): unknown => env.context;

/** Writes the kernel's struct bpf_dynptr_kern at `addr`: data (the context), size | type << 28, offset 0. */
function writeDynptr(vm: HelperContext, addr: number, kind: number, size: number, data: number): void {
  const at = helperPtr(vm, addr, 16, true);
  const v = vm.space.memory.view;
  v.setUint32(at, data >>> 0, true);
  v.setUint32(at + 4, Math.floor(data / 4294967296), true);
  v.setUint32(at + 8, ((size & 0xffffff) | (kind << 28)) >>> 0, true);
  v.setUint32(at + 12, 0, true);
}

/** Reads a struct bpf_dynptr_kern (the layout src/ctx/helpers' dynptr helpers share). */
function readDynptr(vm: HelperContext, addr: number): { kind: number; offset: number; size: number } {
  const at = helperPtr(vm, addr, 16, false);
  const v = vm.space.memory.view;
  const word = v.getUint32(at + 8, true);
  return { kind: (word >>> 28) & 7, offset: v.getUint32(at + 12, true), size: word & 0xffffff };
}

/** bpf_dynptr_from_xdp / bpf_dynptr_from_skb: flags must be 0 (else -EINVAL and a NULL dynptr). */
function fromPacket(kind: number, env: HelperEnv, name: string): HelperFn {
  return (vm, r1, _r2, r3) => {
    const c = ctxOf(env);
    const flags = argU64(vm, 2);
    if (flags !== 0n) {
      writeDynptr(vm, r3, 0, 0, 0);
      return -Errno.EINVAL;
    }
    if (kind === DYNPTR_XDP) {
      if (!(c instanceof XdpContext)) throw new ExecutionError(vm.pc, `${name} needs an XDP context`);
      writeDynptr(vm, r3, kind, c.buffLen(), r1);
    } else {
      if (!(c instanceof SkbContext)) throw new ExecutionError(vm.pc, `${name} needs an skb context`);
      writeDynptr(vm, r3, kind, c.len, r1);
    }
    return 0;
  };
}

/**
 * bpf_dynptr_slice(_rdwr)(p, offset, buffer__opt, buffer__szk): a pointer into the packet when
 * the bytes are contiguous there, else (xdp fragments) a copy into the buffer, or NULL without
 * one; NULL when offset + len passes the end (bpf_dynptr_check_off_len).
 */
function slice(env: HelperEnv): HelperFn {
  return (vm, r1, _r2, r3) => {
    const d = readDynptr(vm, r1);
    const offset = argU32(vm, 2);
    const len = argU32(vm, 4);
    if (d.kind === 0) return 0;
    if (len > d.size || offset > d.size - len) return 0;
    const off = d.offset + offset;
    const c = ctxOf(env);
    if (d.kind === DYNPTR_XDP && c instanceof XdpContext) {
      const linear = c.dataEnd - c.data;
      if (off + len <= linear) return c.packet.address(c.data + off - c.packet.start);
      if (r3 === 0) return 0;
      const at = helperPtr(vm, r3, len, true);
      c.copyBytes(off, len, vm.space.memory.bytes, at, false);
      return r3;
    }
    if (d.kind === DYNPTR_SKB && c instanceof SkbContext) {
      // A test run's skb is linear: skb_header_pointer returns the packet itself.
      if (off + len <= c.len) return c.packet.address(c.data + off - c.packet.start);
      return 0;
    }
    throw new ExecutionError(vm.pc, 'bpf_dynptr_slice on a dynptr of another run or kind');
  };
}

/** The kfuncs by name, bound to `env` (the running program's context) and the user's models. */
export function createKfuncs(env: HelperEnv, options: KfuncOptions = {}): Map<string, HelperFn> {
  const eopnotsupp: HelperFn = () => -Errno.EOPNOTSUPP;
  const m = new Map<string, HelperFn>([
    // A test run's program is bound to no device: the generic implementations return -EOPNOTSUPP.
    ['bpf_xdp_metadata_rx_timestamp', eopnotsupp],
    ['bpf_xdp_metadata_rx_hash', eopnotsupp],
    ['bpf_xdp_metadata_rx_vlan_tag', eopnotsupp],
    ['bpf_dynptr_from_xdp', fromPacket(DYNPTR_XDP, env, 'bpf_dynptr_from_xdp')],
    ['bpf_dynptr_from_skb', fromPacket(DYNPTR_SKB, env, 'bpf_dynptr_from_skb')],
    ['bpf_dynptr_slice', slice(env)],
    ['bpf_dynptr_slice_rdwr', slice(env)],
    ['bpf_dynptr_size', (vm, r1) => readDynptr(vm, r1).size],
    ['bpf_dynptr_is_null', (vm, r1) => (readDynptr(vm, r1).kind === 0 ? 1 : 0)],
    ['bpf_dynptr_is_rdonly', () => 0],
    [
      // bpf_dynptr_adjust(p, start, end): -EINVAL on a NULL dynptr or start > end, -ERANGE past the size.
      'bpf_dynptr_adjust',
      (vm, r1) => {
        const d = readDynptr(vm, r1);
        const start = argU32(vm, 2);
        const end = argU32(vm, 3);
        if (d.kind === 0) return -Errno.EINVAL;
        if (start > d.size || end > d.size) return -Errno.ERANGE;
        if (start > end) return -Errno.EINVAL;
        const at = helperPtr(vm, r1, 16, true);
        const v = vm.space.memory.view;
        v.setUint32(at + 8, (((end - start) & 0xffffff) | (v.getUint32(at + 8, true) & 0xff000000)) >>> 0, true);
        v.setUint32(at + 12, d.offset + start, true);
        return 0;
      },
    ],
    // The context's kernel struct (sk_buff, xdp_buff) as the object's BTF lays it out, read live.
    ['bpf_cast_to_kern_ctx', castToKernCtx(env, options.objectBtf)],
    ['bpf_rcu_read_lock', () => 0],
    ['bpf_rcu_read_unlock', () => 0],
  ]);
  for (const [n, fn] of conntrackKfuncs(options.conntrack, options.objectBtf)) m.set(n, fn);
  // Not here (UNMODELLED_KFUNCS and any other): a run that reaches the call faults with
  // UnmodelledCallError naming it and why (kfuncReason); the other paths run.
  return m;
}

/**
 * Kfuncs real programs call that the userspace runtime does not model, and why. A run that
 * reaches a call of one (or of any kfunc createKfuncs lacks) faults there with
 * UnmodelledCallError; the program runs normally on every other path.
 */
export const UNMODELLED_KFUNCS: Readonly<Record<string, string>> = {
  bpf_ct_set_nat_info: 'sets up NAT on a conntrack entry being allocated: NAT bindings are not modelled',
  bpf_xdp_get_xfrm_state: "looks up an IPsec (xfrm) state in the kernel's tables: xfrm is not modelled",
  bpf_xdp_xfrm_state_release: 'releases an IPsec (xfrm) state: xfrm is not modelled',
  bpf_skb_get_fou_encap: 'reads the skb\'s FOU/GUE tunnel encapsulation: FOU is not modelled',
  bpf_skb_set_fou_encap: 'sets the skb\'s FOU/GUE tunnel encapsulation: FOU is not modelled',
  bpf_task_from_pid: 'returns a kernel task_struct: tasks are not modelled',
  bpf_sock_destroy: 'destroys a kernel socket: no userspace meaning',
  bpf_task_acquire: 'takes a reference on a kernel task_struct: tasks are not modelled',
  bpf_task_release: 'releases a kernel task_struct: tasks are not modelled',
  bpf_cgroup_acquire: 'takes a reference on a kernel cgroup: cgroup objects are not modelled',
  bpf_cgroup_release: 'releases a kernel cgroup: cgroup objects are not modelled',
  bpf_cgroup_ancestor: 'returns a kernel cgroup: cgroup objects are not modelled',
  bpf_cgroup_from_id: 'returns a kernel cgroup: cgroup objects are not modelled',
  bpf_rdonly_cast: 'a read-only view of kernel memory: no userspace meaning',
  bpf_iter_num_new: 'open-coded iterators are verified, not yet run by the userspace runtime',
  bpf_iter_num_next: 'open-coded iterators are verified, not yet run by the userspace runtime',
  bpf_iter_num_destroy: 'open-coded iterators are verified, not yet run by the userspace runtime',
  bpf_iter_bits_new: 'open-coded iterators are verified, not yet run by the userspace runtime',
  bpf_iter_bits_next: 'open-coded iterators are verified, not yet run by the userspace runtime',
  bpf_iter_bits_destroy: 'open-coded iterators are verified, not yet run by the userspace runtime',
};

/** A kfunc whose answer comes from a model the user supplies: the model and its default. */
export interface KfuncModel {
  readonly model: string;
  readonly default: string;
}

const CONNTRACK: KfuncModel = { model: 'the conntrack table: `conntrack` of loadUserspace (ConntrackModel, docs/kfuncs.md)', default: "empty, as a test run's namespace" };

/** Kfuncs implemented over a model of kernel state (the rest of createKfuncs is computed from the program's memory and packet). */
export const MODELLED_KFUNCS: Readonly<Record<string, KfuncModel>> = {
  bpf_xdp_metadata_rx_timestamp: { model: "the device's RX metadata: a test run's program is bound to no device", default: '-EOPNOTSUPP, outputs untouched' },
  bpf_xdp_metadata_rx_hash: { model: "the device's RX metadata: a test run's program is bound to no device", default: '-EOPNOTSUPP, outputs untouched' },
  bpf_xdp_metadata_rx_vlan_tag: { model: "the device's RX metadata: a test run's program is bound to no device", default: '-EOPNOTSUPP, outputs untouched' },
  bpf_xdp_ct_lookup: CONNTRACK,
  bpf_skb_ct_lookup: CONNTRACK,
  bpf_xdp_ct_alloc: CONNTRACK,
  bpf_skb_ct_alloc: CONNTRACK,
  bpf_ct_insert_entry: CONNTRACK,
  bpf_ct_release: CONNTRACK,
  bpf_ct_set_timeout: CONNTRACK,
  bpf_ct_set_status: CONNTRACK,
  bpf_ct_change_timeout: CONNTRACK,
  bpf_ct_change_status: CONNTRACK,
  bpf_cast_to_kern_ctx: { model: "the context's struct sk_buff / xdp_buff as the program's BTF lays it out, its fields read live from the run (docs/kfuncs.md)", default: 'a field with no userspace meaning (dev, sk, rxq) faults naming it' },
};

/** The names of the kfuncs {@link createKfuncs} implements. */
export function kfuncNames(): string[] {
  return [...createKfuncs(createHelperEnv()).keys()];
}

/** Why kfunc `name` does not run in userspace (for a kfunc {@link createKfuncs} lacks). */
export function kfuncReason(name: string): string {
  return UNMODELLED_KFUNCS[name] ?? 'not implemented by the userspace runtime';
}

export { KernCtxFieldError } from './kern-ctx.js';
export { type ConntrackEntry, type ConntrackModel, NF_CONN_LAYOUT_6_18, type NfConnLayout, nfConnLayoutFromBtf } from './conntrack.js';
