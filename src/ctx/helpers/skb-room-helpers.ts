// bpf_skb_adjust_room, bpf_skb_load_bytes_relative and bpf_check_mtu (tc and XDP).

import { BpfAdjRoomFlags, BpfAdjRoomMode, BpfCheckMtuFlags, BpfCheckMtuResult, BpfFuncId, BpfHdrStartOff } from '../../isa/uapi.generated.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import type { NetDevice } from '../net-device.js';
import { SkBuff } from '../sk-buff.js';
import { SkbContext, SKB_MAX_LEN, swap16 } from '../skb-context.js';
import { XdpContext } from '../xdp-buff.js';
import type { HelperEnv } from './env.js';
import { argS32, argU32, argU64, Errno, helperPtr } from './memory.js';

const F = BpfAdjRoomFlags;
const DECAP_MASK = F.DECAP_L3_IPV4 | F.DECAP_L3_IPV6;
const ENCAP_L3_MASK = F.ENCAP_L3_IPV4 | F.ENCAP_L3_IPV6;
/** BPF_F_ADJ_ROOM_MASK: every flag bit, with the 8-bit inner L2 length at bit 56. */
const ROOM_MASK = BigInt(F.FIXED_GSO | ENCAP_L3_MASK | F.ENCAP_L4_GRE | F.ENCAP_L4_UDP | F.ENCAP_L2_ETH | DECAP_MASK) | (0xffn << 56n);
const EALREADY = 114;
const IPV4 = 0x0800;
const IPV6 = 0x86dd;

function skbOf(vm: HelperContext, env: HelperEnv, helper: string): SkbContext {
  const c = env.context;
  if (!(c instanceof SkbContext)) throw new ExecutionError(vm.pc, `${helper} needs an __sk_buff context`);
  return c;
}

const protocolOf = (skb: SkbContext): number => swap16(skb.u32(SkBuff.protocol));
const setProtocol = (skb: SkbContext, p: number): void => skb.setU32(SkBuff.protocol, swap16(p));
const netBaseLen = (skb: SkbContext): number => (protocolOf(skb) === IPV4 ? 20 : protocolOf(skb) === IPV6 ? 40 : 0);

/** bpf_skb_net_grow: `len` zeroed bytes at `off` from skb->data; headers before them move back. */
function netGrow(vm: HelperContext, skb: SkbContext, off: number, len: number, flags: bigint): number {
  const f = Number(flags & 0xffffffffn);
  const encap = (f & ENCAP_L3_MASK) !== 0;
  const innerMacLen = Number((flags >> 56n) & 0xffn);
  let macLen = 0;
  if (encap) {
    const proto = protocolOf(skb);
    if (proto !== IPV4 && proto !== IPV6) return -Errno.ENOTSUPP;
    if ((f & ENCAP_L3_MASK) === ENCAP_L3_MASK) return -Errno.EINVAL;
    if (f & F.ENCAP_L4_GRE && f & F.ENCAP_L4_UDP) return -Errno.EINVAL;
    if (f & F.ENCAP_L2_ETH && innerMacLen < 14) return -Errno.EINVAL;
    if (skb.encapsulation) return -EALREADY;
    macLen = skb.network - skb.mac;
    if (innerMacLen > len) return -Errno.EINVAL;
  }
  if (!skb.ensureRoom(len, skb.len)) return -Errno.ENOMEM;
  skb.cow(len);
  skb.pushed(len);
  const mem = vm.space.memory.bytes;
  skb.data -= len;
  skb.len += len;
  mem.copyWithin(skb.data, skb.data + len, skb.data + len + off);
  mem.fill(0, skb.data + off, skb.data + off + len);
  skb.mac -= len;
  skb.network -= len;
  if (encap) {
    skb.encapsulation = true;
    skb.network = skb.data + macLen;
    const proto = protocolOf(skb);
    if (proto === IPV4 && f & F.ENCAP_L3_IPV6) setProtocol(skb, IPV6);
    else if (proto === IPV6 && f & F.ENCAP_L3_IPV4) setProtocol(skb, IPV4);
  }
  return 0;
}

/** bpf_skb_net_shrink: removes `len` bytes at `off` from skb->data; headers before them move forward. */
function netShrink(vm: HelperContext, skb: SkbContext, off: number, len: number, flags: number): number {
  if (flags & ~(F.FIXED_GSO | DECAP_MASK | F.NO_CSUM_RESET)) return -Errno.EINVAL;
  if (off + len > skb.len) return -Errno.ENOMEM;
  vm.space.memory.bytes.copyWithin(skb.data + len, skb.data, skb.data + off);
  skb.pushed(-len);
  skb.data += len;
  skb.len -= len;
  skb.mac += len;
  skb.network += len;
  const proto = protocolOf(skb);
  if (proto === IPV4 && flags & F.DECAP_L3_IPV6) setProtocol(skb, IPV6);
  else if (proto === IPV6 && flags & F.DECAP_L3_IPV4) setProtocol(skb, IPV4);
  return 0;
}

/** __dev_via_ifindex: the given device for ifindex 0, else the one with that index. */
function devVia(dev: NetDevice, devices: (i: number) => NetDevice | undefined, ifindex: number): NetDevice | undefined {
  return ifindex === 0 ? dev : devices(ifindex);
}

/** bpf_skb_change_proto: IPv4 <-> IPv6 by growing or shrinking 20 bytes after the MAC header. */
function changeProto(vm: HelperContext, skb: SkbContext, to: number): number {
  const from = protocolOf(skb);
  const off = skb.network - skb.mac;
  let ret: number;
  if (from === IPV4 && to === IPV6) ret = netGrow(vm, skb, off, 20, 0n);
  else if (from === IPV6 && to === IPV4) ret = netShrink(vm, skb, off, 20, 0);
  else return -Errno.ENOTSUPP;
  if (ret === 0) {
    setProtocol(skb, to);
    skb.setU32(SkBuff.hash, 0);
  }
  return ret;
}

/** The room, relative-load and MTU helpers, bound to `env`. */
export function skbRoomHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.skb_adjust_room,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_adjust_room');
        const lenDiff = argS32(vm, 2);
        const mode = argU32(vm, 3);
        const flags = argU64(vm, 4);
        const abs = Math.abs(lenDiff);
        const shrink = lenDiff < 0;
        const f = Number(flags & 0xffffffffn);
        if ((flags & ~(ROOM_MASK | BigInt(F.NO_CSUM_RESET))) !== 0n) return -Errno.EINVAL;
        if (abs > 0xfff) return -Errno.EFAULT;
        const proto = protocolOf(skb);
        if (proto !== IPV4 && proto !== IPV6) return -Errno.ENOTSUPP;
        let off = skb.network - skb.mac;
        if (mode === BpfAdjRoomMode.NET) off += netBaseLen(skb);
        else if (mode !== BpfAdjRoomMode.MAC) return -Errno.ENOTSUPP;
        if ((shrink && (f & DECAP_MASK) === DECAP_MASK) || (!shrink && f & DECAP_MASK)) return -Errno.EINVAL;
        let lenMin = netBaseLen(skb);
        if (shrink && f & F.DECAP_L3_IPV6) lenMin = 40;
        else if (shrink && f & F.DECAP_L3_IPV4) lenMin = 20;
        const lenCur = skb.len - (skb.network - skb.data);
        if ((shrink && (abs >= lenCur || lenCur - abs < lenMin)) || (!shrink && skb.len + abs > SKB_MAX_LEN)) return -Errno.ENOTSUPP;
        const ret = shrink ? netShrink(vm, skb, off, abs, f) : netGrow(vm, skb, off, abs, flags);
        if (ret === 0 && !(f & F.NO_CSUM_RESET) && skb.ipSummed === 'unnecessary') {
          skb.ipSummed = 'none';
          skb.csumLevel = 0;
        }
        skb.sync();
        return ret;
      },
    ],
    [
      BpfFuncId.skb_change_proto,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_change_proto');
        if (argU64(vm, 3) !== 0n) return -Errno.EINVAL;
        const ret = changeProto(vm, skb, swap16(vm.regLo(2) & 0xffff));
        skb.sync();
        return ret;
      },
    ],
    [
      BpfFuncId.skb_load_bytes_relative,
      (vm, _r1, _r2, r3) => {
        const skb = skbOf(vm, env, 'bpf_skb_load_bytes_relative');
        const offset = argU32(vm, 2);
        const len = argU32(vm, 4);
        const start = argU32(vm, 5);
        const to = helperPtr(vm, r3, len, true);
        const mem = vm.space.memory.bytes;
        const base = start === BpfHdrStartOff.MAC ? skb.mac : start === BpfHdrStartOff.NET ? skb.network : -1;
        if (offset > 0xffff || base < 0 || base + offset + len > skb.data + skb.len) {
          mem.fill(0, to, to + len);
          return -Errno.EFAULT;
        }
        mem.copyWithin(to, base + offset, base + offset + len);
        return 0;
      },
    ],
    [
      BpfFuncId.check_mtu,
      (vm, _r1, _r2, r3) => {
        const c = env.context;
        const ifindex = argU32(vm, 2);
        const lenDiff = argS32(vm, 4);
        const flags = argU64(vm, 5);
        const at = helperPtr(vm, r3, 4, true);
        const view = vm.space.memory.view;
        const mtuIn = view.getUint32(at, true);
        let ret: number;
        let mtu = 0;
        if (c instanceof XdpContext) {
          const dev = devVia(c.devices(c.rxIfindex) ?? { ifindex: c.rxIfindex, rxQueues: 1, mac: new Uint8Array(6) }, c.devices, ifindex);
          if (flags !== 0n) ret = -Errno.EINVAL;
          else if (!dev) ret = -Errno.ENODEV;
          else {
            mtu = dev.mtu ?? 1500;
            const hh = dev.hardHeaderLen ?? 14;
            const len = (mtuIn ? mtuIn + hh : c.dataEnd - c.data) + lenDiff;
            ret = len > mtu + hh ? BpfCheckMtuResult.FRAG_NEEDED : BpfCheckMtuResult.SUCCESS;
          }
        } else if (c instanceof SkbContext) {
          const dev = devVia(c.dev, c.devices, ifindex);
          if ((flags & ~BigInt(BpfCheckMtuFlags.SEGS)) !== 0n) ret = -Errno.EINVAL;
          else if (flags & BigInt(BpfCheckMtuFlags.SEGS) && (lenDiff !== 0 || mtuIn !== 0)) ret = -Errno.EINVAL;
          else if (!dev) ret = -Errno.ENODEV;
          else {
            mtu = dev.mtu ?? 1500;
            const hh = dev.hardHeaderLen ?? 14;
            const len = (mtuIn ? mtuIn + hh : c.len) + lenDiff;
            // A test run's skb is never GSO, so a long one is simply too big.
            ret = len <= mtu + hh ? BpfCheckMtuResult.SUCCESS : BpfCheckMtuResult.FRAG_NEEDED;
          }
        } else throw new ExecutionError(vm.pc, 'bpf_check_mtu needs an XDP or __sk_buff context');
        // Bad flags and unknown devices return before *mtu_len is written.
        if (ret >= 0) view.setUint32(at, mtu, true);
        return ret;
      },
    ],
  ]);
}
