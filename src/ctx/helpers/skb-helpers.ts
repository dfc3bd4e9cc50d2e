// skb helpers (tc, and socket filters where the kernel allows): load/store bytes, checksum
// replacement, VLAN push/pop, hash, pull_data, and bpf_redirect with tc's semantics.

import { BpfCsumFieldFlags, BpfFuncId, BpfL4CsumFlags, BpfRedirectFlags, BpfStoreBytesFlags } from '../../isa/uapi.generated.js';
import { TcAction } from '../../isa/program-types.js';
import { ExecutionError } from '../../vm/errors.js';
import type { HelperContext, HelperFn } from '../../vm/helpers.js';
import { SkBuff } from '../sk-buff.js';
import { ethTypeTrans, SkbContext, SKB_MAX_LEN, VLAN_PROTOS_BE } from '../skb-context.js';
import { XdpContext } from '../xdp-buff.js';
import { csumReplace2, csumReplace4, csumReplaceByDiff } from './csum.js';
import type { HelperEnv } from './env.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';
import { xdpRedirect } from './xdp-helpers.js';

const ETH_HLEN = 14;
const VLAN_HLEN = 4;
const CSUM_MANGLED_0 = 0xffff;
const INT_MAX = 0x7fffffff;
const EBADMSG = 74;
/** sizeof(struct bpf_redir_neigh). */
const REDIR_NEIGH_SIZE = 20;

/** The skb context of the running program, or an ExecutionError naming the helper. */
function skbOf(vm: HelperContext, env: HelperEnv, helper: string): SkbContext {
  const c = env.context;
  if (!(c instanceof SkbContext)) throw new ExecutionError(vm.pc, `${helper} needs an __sk_buff context`);
  return c;
}

/** Reads/writes the u16 checksum field at skb->data + offset (little-endian, as the CPU loads it). */
function field16(vm: HelperContext, skb: SkbContext, offset: number): { get(): number; set(v: number): void } {
  const view = vm.space.memory.view;
  const at = skb.data + offset;
  return { get: () => view.getUint16(at, true), set: (v) => view.setUint16(at, v, true) };
}

/** Common checks of l3/l4_csum_replace: an even offset within the packet (else -EFAULT). */
function csumOffsetOk(skb: SkbContext, offset: number): boolean {
  return offset <= 0xffff && (offset & 1) === 0 && offset + 2 <= skb.len;
}

/** skb_vlan_push's insertion of the current accelerated tag into the packet (__vlan_insert_tag). */
function insertTag(vm: HelperContext, skb: SkbContext): number {
  // skb_cow_head: the kernel reallocates when the headroom is short; here the packet moves.
  if (!skb.ensureRoom(VLAN_HLEN, skb.len)) return -Errno.ENOMEM;
  skb.cow(VLAN_HLEN);
  skb.pushed(VLAN_HLEN);
  const mem = vm.space.memory.bytes;
  const proto = skb.u32(SkBuff.vlan_proto);
  const tci = skb.u32(SkBuff.vlan_tci);
  skb.data -= VLAN_HLEN;
  skb.mac -= VLAN_HLEN;
  skb.network -= VLAN_HLEN;
  skb.len += VLAN_HLEN;
  mem.copyWithin(skb.data, skb.data + VLAN_HLEN, skb.data + VLAN_HLEN + 2 * 6);
  mem[skb.data + 12] = proto & 0xff;
  mem[skb.data + 13] = proto >>> 8;
  mem[skb.data + 14] = tci >>> 8;
  mem[skb.data + 15] = tci & 0xff;
  skb.setU32(SkBuff.protocol, proto);
  return 0;
}

/** __skb_vlan_pop: removes the tag after the MAC addresses; returns its TCI or -errno. */
function popTag(vm: HelperContext, skb: SkbContext): number {
  if (skb.len < ETH_HLEN + VLAN_HLEN) return -Errno.ENOMEM;
  const mem = vm.space.memory.bytes;
  const tci = (mem[skb.data + 14]! << 8) | mem[skb.data + 15]!;
  mem.copyWithin(skb.data + VLAN_HLEN, skb.data, skb.data + 2 * 6);
  skb.pushed(-VLAN_HLEN);
  skb.data += VLAN_HLEN;
  skb.mac += VLAN_HLEN;
  skb.len -= VLAN_HLEN;
  if (skb.network - skb.mac < ETH_HLEN) skb.network = skb.mac + ETH_HLEN;
  // vlan_set_encap_proto: the encapsulated EtherType, or 802.3/802.2 for a length field.
  skb.setU32(SkBuff.protocol, ethTypeTrans(mem.subarray(skb.data, skb.data + skb.len)));
  return tci;
}

function setHwTag(skb: SkbContext, proto: number, tci: number): void {
  skb.setU32(SkBuff.vlan_proto, proto);
  skb.setU32(SkBuff.vlan_tci, tci);
  skb.setU32(SkBuff.vlan_present, proto !== 0 || tci !== 0 ? 1 : 0);
}

/** A deterministic flow hash (the kernel keys its hash with a random per-boot secret, so values cannot match it). */
function flowHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < Math.min(bytes.length, 54); i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0 || 1;
}

/** The skb helpers, bound to `env`. */
export function skbHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.skb_load_bytes,
      (vm, _r1, _r2, r3) => {
        const skb = skbOf(vm, env, 'bpf_skb_load_bytes');
        const offset = argU32(vm, 2);
        const len = argU32(vm, 4);
        const to = helperPtr(vm, r3, len, true);
        const mem = vm.space.memory.bytes;
        if (offset > INT_MAX || offset + len > skb.len) {
          mem.fill(0, to, to + len);
          return -Errno.EFAULT;
        }
        mem.copyWithin(to, skb.data + offset, skb.data + offset + len);
        return 0;
      },
    ],
    [
      BpfFuncId.skb_store_bytes,
      (vm, _r1, _r2, r3) => {
        const skb = skbOf(vm, env, 'bpf_skb_store_bytes');
        const offset = argU32(vm, 2);
        const len = argU32(vm, 4);
        const flags = argU64(vm, 5);
        const from = helperPtr(vm, r3, len, false);
        if ((flags & ~BigInt(BpfStoreBytesFlags.RECOMPUTE_CSUM | BpfStoreBytesFlags.INVALIDATE_HASH)) !== 0n) return -Errno.EINVAL;
        if (offset > 0xffff || offset + len > skb.len) return -Errno.EFAULT;
        vm.space.memory.bytes.copyWithin(skb.data + offset, from, from + len);
        // BPF_F_RECOMPUTE_CSUM only matters for CHECKSUM_COMPLETE skbs (a test run's are CHECKSUM_NONE).
        if (flags & BigInt(BpfStoreBytesFlags.INVALIDATE_HASH)) skb.setU32(SkBuff.hash, 0);
        return 0;
      },
    ],
    [
      BpfFuncId.l3_csum_replace,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_l3_csum_replace');
        const offset = argU32(vm, 2);
        const from = vm.reg(3);
        const to = Number(vm.reg(4) & 0xffffffffn);
        const flags = argU64(vm, 5);
        if ((flags & ~BigInt(BpfCsumFieldFlags.HDR_FIELD_MASK)) !== 0n) return -Errno.EINVAL;
        if (!csumOffsetOk(skb, offset)) return -Errno.EFAULT;
        const f = field16(vm, skb, offset);
        switch (Number(flags & 0xfn)) {
          case 0:
            if (from !== 0n) return -Errno.EINVAL;
            f.set(csumReplaceByDiff(f.get(), to));
            return 0;
          case 2:
            f.set(csumReplace2(f.get(), Number(from & 0xffffn), to & 0xffff));
            return 0;
          case 4:
            f.set(csumReplace4(f.get(), Number(from & 0xffffffffn), to));
            return 0;
          default:
            return -Errno.EINVAL;
        }
      },
    ],
    [
      BpfFuncId.l4_csum_replace,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_l4_csum_replace');
        const offset = argU32(vm, 2);
        const from = vm.reg(3);
        const to = vm.reg(4);
        const flags = argU64(vm, 5);
        const allowed = BpfL4CsumFlags.MARK_MANGLED_0 | BpfL4CsumFlags.MARK_ENFORCE | BpfL4CsumFlags.PSEUDO_HDR | BpfL4CsumFlags.IPV6 | BpfCsumFieldFlags.HDR_FIELD_MASK;
        if ((flags & ~BigInt(allowed)) !== 0n) return -Errno.EINVAL;
        if (!csumOffsetOk(skb, offset)) return -Errno.EFAULT;
        const mangled0 = (flags & BigInt(BpfL4CsumFlags.MARK_MANGLED_0)) !== 0n;
        const enforce = (flags & BigInt(BpfL4CsumFlags.MARK_ENFORCE)) !== 0n;
        const f = field16(vm, skb, offset);
        if (mangled0 && !enforce && f.get() === 0) return 0;
        // CHECKSUM_NONE: the pseudo-header flag changes only skb->csum, which a test run lacks.
        switch (Number(flags & 0xfn)) {
          case 0:
            if (from !== 0n) return -Errno.EINVAL;
            f.set(csumReplaceByDiff(f.get(), Number(to & 0xffffffffn)));
            break;
          case 2:
            // inet_proto_csum_replace2 widens both halves and replaces as 32-bit words.
            f.set(csumReplace4(f.get(), Number(from & 0xffffn), Number(to & 0xffffn)));
            break;
          case 4:
            f.set(csumReplace4(f.get(), Number(from & 0xffffffffn), Number(to & 0xffffffffn)));
            break;
          default:
            return -Errno.EINVAL;
        }
        if (mangled0 && f.get() === 0) f.set(CSUM_MANGLED_0);
        return 0;
      },
    ],
    [
      BpfFuncId.skb_vlan_push,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_vlan_push');
        let proto = Number(vm.reg(2) & 0xffffn);
        const tci = Number(vm.reg(3) & 0xffffn);
        if (!VLAN_PROTOS_BE.includes(proto)) proto = VLAN_PROTOS_BE[0]!;
        if (skb.u32(SkBuff.vlan_present)) {
          if (skb.data !== skb.mac) return -Errno.EINVAL;
          const err = insertTag(vm, skb);
          if (err) return err;
        }
        setHwTag(skb, proto, tci);
        skb.macLen = skb.network - skb.mac;
        skb.sync();
        return 0;
      },
    ],
    [
      BpfFuncId.skb_vlan_pop,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_vlan_pop');
        let ret = 0;
        if (skb.u32(SkBuff.vlan_present)) setHwTag(skb, 0, 0);
        else if (!VLAN_PROTOS_BE.includes(skb.u32(SkBuff.protocol))) ret = 0;
        else {
          if (skb.data !== skb.mac) return -Errno.EINVAL;
          const tci = popTag(vm, skb);
          if (tci < 0) ret = tci;
        }
        // The next tag, if any, becomes the accelerated one.
        const inner = skb.u32(SkBuff.protocol);
        if (ret === 0 && skb.u32(SkBuff.vlan_present) === 0 && VLAN_PROTOS_BE.includes(inner)) {
          const tci = popTag(vm, skb);
          if (tci < 0) ret = tci;
          else setHwTag(skb, inner, tci);
        }
        skb.macLen = skb.network - skb.mac;
        skb.sync();
        return ret;
      },
    ],
    [
      BpfFuncId.skb_change_tail,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_change_tail');
        const newLen = argU32(vm, 2);
        if (argU64(vm, 3) !== 0n || newLen > SKB_MAX_LEN || newLen < skb.minLen()) return -Errno.EINVAL;
        if (skb.encapsulation) return -Errno.ENOTSUPP;
        if (!skb.ensureRoom(0, newLen)) return -Errno.ENOMEM;
        if (newLen > skb.len) vm.space.memory.bytes.fill(0, skb.data + skb.len, skb.data + newLen);
        skb.len = newLen;
        skb.sync();
        // skb_gso_reset: a GSO skb (a ctx_in's gso_size) loses its GSO size and segment count.
        if ((skb.u32(SkBuff.gso_size) & 0xffff) !== 0) {
          skb.setU32(SkBuff.gso_size, 0);
          skb.setU32(SkBuff.gso_segs, 0);
        }
        return 0;
      },
    ],
    [
      BpfFuncId.skb_change_head,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_change_head');
        const room = argU32(vm, 2);
        const newLen = skb.len + room;
        if (argU64(vm, 3) !== 0n || newLen > SKB_MAX_LEN || newLen > 0xffffffff) return -Errno.EINVAL;
        if (!skb.ensureRoom(room, skb.len)) return -Errno.ENOMEM;
        skb.cow(room);
        skb.pushed(room);
        skb.data -= room;
        skb.len = newLen;
        vm.space.memory.bytes.fill(0, skb.data, skb.data + room);
        skb.mac = skb.data;
        skb.macLen = skb.network - skb.mac;
        skb.sync();
        return 0;
      },
    ],
    [
      BpfFuncId.get_hash_recalc,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_get_hash_recalc');
        if (skb.u32(SkBuff.hash) === 0) skb.setU32(SkBuff.hash, flowHash(skb.bytes()));
        return skb.u32(SkBuff.hash);
      },
    ],
    [
      BpfFuncId.set_hash,
      (vm) => {
        skbOf(vm, env, 'bpf_set_hash').setU32(SkBuff.hash, argU32(vm, 2));
        return 0;
      },
    ],
    [
      BpfFuncId.set_hash_invalid,
      (vm) => {
        skbOf(vm, env, 'bpf_set_hash_invalid').setU32(SkBuff.hash, 0);
        return 0;
      },
    ],
    [
      BpfFuncId.skb_pull_data,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_skb_pull_data');
        // A test run's skb is linear: pulling is a no-op within it, -ENOMEM past it.
        return argU32(vm, 2) > skb.len ? -Errno.ENOMEM : 0;
      },
    ],
    [
      BpfFuncId.redirect,
      (vm) => {
        const ifindex = argU32(vm, 1);
        const flags = argU64(vm, 2);
        if (env.context instanceof XdpContext) return xdpRedirect(env, ifindex, flags);
        if ((flags & ~BigInt(BpfRedirectFlags.INGRESS)) !== 0n) return TcAction.SHOT;
        env.redirect = { kind: 'ifindex', ifindex, flags: Number(flags) };
        return TcAction.REDIRECT;
      },
    ],
    [
      BpfFuncId.clone_redirect,
      (vm) => {
        const skb = skbOf(vm, env, 'bpf_clone_redirect');
        const ifindex = argU32(vm, 2);
        const flags = argU64(vm, 3);
        if ((flags & ~BigInt(BpfRedirectFlags.INGRESS)) !== 0n) return -Errno.EINVAL;
        // A ctx_in's gso_size makes a GSO skb without a GSO type, which the kernel will not let out.
        if (skb.u32(SkBuff.gso_size) & 0xffff) return -EBADMSG;
        if (ifindex === 0 || !skb.devices(ifindex)) return -Errno.EINVAL;
        env.clones?.push({ ifindex, flags: Number(flags), data: vm.space.memory.bytes.slice(skb.mac, skb.data + skb.len) });
        return 0;
      },
    ],
    [
      BpfFuncId.redirect_peer,
      (vm) => {
        if (argU64(vm, 2) !== 0n) return TcAction.SHOT;
        env.redirect = { kind: 'ifindex', ifindex: argU32(vm, 1), flags: 0, via: 'peer' };
        return TcAction.REDIRECT;
      },
    ],
    [
      BpfFuncId.redirect_neigh,
      (vm, _r1, r2) => {
        const plen = argU32(vm, 3) | 0;
        if ((plen !== 0 && plen < REDIR_NEIGH_SIZE) || argU64(vm, 4) !== 0n) return TcAction.SHOT;
        const at = plen ? helperPtr(vm, r2, REDIR_NEIGH_SIZE, false) : -1;
        const nextHop = at >= 0 ? vm.space.memory.bytes.slice(at, at + REDIR_NEIGH_SIZE) : undefined;
        env.redirect = { kind: 'ifindex', ifindex: argU32(vm, 1), flags: 0, via: 'neigh', ...(nextHop ? { nextHop } : {}) };
        return TcAction.REDIRECT;
      },
    ],
  ]);
}

