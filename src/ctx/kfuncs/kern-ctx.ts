// bpf_cast_to_kern_ctx: the kernel's struct sk_buff / xdp_buff behind the context, laid out as the program's BTF declares it, its fields read live from the runtime's context model.
//
// The kernel returns the context's own kernel object (PTR_TO_BTF_ID of struct sk_buff for the skb
// program types, struct xdp_buff for XDP), which the program reads at the offsets it was compiled
// with (the runtime runs programs as compiled, like the conntrack kfuncs' struct nf_conn). Here
// that object is a read-only region whose loads are served from the run's SkbContext/XdpContext:
// every field a test run's skb or xdp_buff gives a userspace meaning (lengths, header offsets,
// data pointers, mark, priority, protocol, checksum state...) is computed when it is read, so a
// helper that moves the packet (bpf_skb_adjust_room) is seen by the next load, as in the kernel.
// A bitfield no model sets reads 0 (a test run's skb has those flags clear); a load of any other
// field (skb->dev, skb->sk, xdp->rxq: kernel objects with no userspace meaning) faults with
// KernCtxFieldError naming it, rather than reading a made-up value.
import type { Btf } from '../../btf/index.js';
import type { AddressSpace, Region } from '../../vm/address-space.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperFn } from '../../vm/helpers.js';
import { structLayout, structView, type FieldGetter, type StructLayout } from '../btf-struct-view.js';
import type { HelperEnv } from '../helpers/env.js';
import { SkBuff } from '../sk-buff.js';
import { SkbContext } from '../skb-context.js';
import { XDP_FRAME_SIZE, XdpContext } from '../xdp-buff.js';

export { KernCtxFieldError } from '../btf-struct-view.js';

type Getter = FieldGetter;

/** The modelled fields of a test run's struct sk_buff, read from the SkbContext. */
function skbFields(c: SkbContext): Record<string, Getter> {
  const ctx = (off: number): number => c.u32(off);
  const headroom = (): number => c.kernelHeadroom;
  const fromHead = (memOffset: number): number => memOffset - c.data + headroom();
  const packetAddr = (memOffset: number): number => c.packet.address(memOffset - c.packet.start);
  return {
    len: () => c.len,
    data_len: () => 0,
    mac_len: () => c.macLen,
    hdr_len: () => 0,
    protocol: () => ctx(SkBuff.protocol) & 0xffff,
    mark: () => ctx(SkBuff.mark),
    priority: () => ctx(SkBuff.priority),
    hash: () => ctx(SkBuff.hash),
    queue_mapping: () => ctx(SkBuff.queue_mapping) & 0xffff,
    vlan_tci: () => ctx(SkBuff.vlan_tci) & 0xffff,
    vlan_proto: () => ctx(SkBuff.vlan_proto) & 0xffff,
    tc_index: () => ctx(SkBuff.tc_index) & 0xffff,
    skb_iif: () => ctx(SkBuff.ingress_ifindex),
    tstamp: () => BigInt(ctx(SkBuff.tstamp) >>> 0) | (BigInt(ctx(SkBuff.tstamp + 4) >>> 0) << 32n),
    pkt_type: () => ctx(SkBuff.pkt_type) & 7,
    ip_summed: () => (c.ipSummed === 'unnecessary' ? 1 : 0),
    csum_level: () => c.csumLevel,
    encapsulation: () => (c.encapsulation ? 1 : 0),
    // CHECKSUM_NONE: no checksum state (csum / csum_start+csum_offset share a union).
    csum: () => 0,
    csum_start: () => 0,
    csum_offset: () => 0,
    head: () => packetAddr(c.data) - headroom(),
    data: () => packetAddr(c.data),
    tail: () => headroom() + c.len,
    mac_header: () => fromHead(c.mac),
    network_header: () => fromHead(c.network),
    transport_header: () => c.transportHeader,
    inner_protocol: () => 0,
    inner_mac_header: () => 0,
    inner_network_header: () => 0,
    inner_transport_header: () => 0,
  };
}

/** The modelled fields of a test run's struct xdp_buff, read from the XdpContext. */
function xdpFields(c: XdpContext): Record<string, Getter> {
  const addr = (memOffset: number): number => c.packet.address(memOffset - c.packet.start);
  return {
    data: () => addr(c.data),
    data_end: () => addr(c.dataEnd),
    data_meta: () => addr(c.dataMeta),
    data_hard_start: () => addr(c.hardStart),
    frame_sz: () => XDP_FRAME_SIZE,
    // XDP_FLAGS_HAS_FRAGS (bit 0) for a multi-buffer frame.
    flags: () => (c.fragCount > 0 ? 1 : 0),
  };
}

interface KernCtxView {
  readonly region: Region;
  readonly struct: string;
  context: unknown;
}

/**
 * The bpf_cast_to_kern_ctx kfunc: returns the address of a read-only region standing for the
 * context's kernel struct, its loads served from the running context (see the file comment).
 * The layout is the object's BTF's struct sk_buff / xdp_buff; a program whose BTF lacks it
 * faults at the call, naming what is missing.
 */
export function castToKernCtx(env: HelperEnv, objectBtf: Btf | undefined): HelperFn {
  const views = new WeakMap<AddressSpace, Map<string, KernCtxView>>();
  const layouts = new Map<string, StructLayout | undefined>();
  return (vm) => {
    const c = env.context;
    const struct = c instanceof SkbContext ? 'sk_buff' : c instanceof XdpContext ? 'xdp_buff' : undefined;
    if (!struct) throw new ExecutionError(vm.pc, 'bpf_cast_to_kern_ctx: the kernel context of this program type is not modelled (sk_buff and xdp_buff are)');
    if (!layouts.has(struct)) layouts.set(struct, structLayout(objectBtf, struct));
    const layout = layouts.get(struct);
    if (!layout) throw new ExecutionError(vm.pc, `bpf_cast_to_kern_ctx: the object's BTF has no struct ${struct}, so its fields' offsets are unknown`);
    let byStruct = views.get(vm.space);
    if (!byStruct) views.set(vm.space, (byStruct = new Map()));
    let view = byStruct.get(struct);
    if (!view) {
      const v: { context: unknown } = { context: c };
      const region = structView(vm.space, struct, layout, () => (v.context instanceof SkbContext ? skbFields(v.context) : xdpFields(v.context as XdpContext)));
      view = Object.assign(v, { region, struct });
      byStruct.set(struct, view);
    }
    view.context = c;
    return view.region.address(0);
  };
}
