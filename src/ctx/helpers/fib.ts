// bpf_fib_lookup against a user-supplied FIB: routes by longest prefix, neighbours, device MACs and MTUs.

import { BpfFibLookupFlags, BpfFibLookupResult, BpfFuncId } from '../../isa/uapi.generated.js';
import type { HelperFn } from '../../vm/helpers.js';
import type { HelperEnv } from './env.js';
import { argU32, argU64, Errno, helperPtr } from './memory.js';

/** sizeof(struct bpf_fib_lookup). */
export const FIB_LOOKUP_SIZE = 64;
/** Field offsets of struct bpf_fib_lookup. */
export const FibLookup = { family: 0, l4_protocol: 1, sport: 2, dport: 4, tot_len: 6, mtu_result: 6, ifindex: 8, tos: 12, src: 16, dst: 32, h_vlan_proto: 48, h_vlan_TCI: 50, tbid: 48, mark: 52, smac: 52, dmac: 58 } as const;

const AF_INET = 2;
const AF_INET6 = 10;

/** One route. */
export interface FibRoute {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Destination prefix (4 or 16 bytes, network order). */
  readonly dst: Uint8Array;
  /** Prefix length. */
  readonly prefixLen: number;
  /**
   * unicast (default); a reject route with the matching BPF_FIB_LKUP_RET_* code; or `local`
   * for the kernel's local and broadcast routes (own addresses), which are NOT_FWDED.
   */
  readonly type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local';
  /** Output interface (unicast). */
  readonly ifindex?: number;
  /** Next hop; absent: directly connected (the destination is the neighbour). */
  readonly gateway?: Uint8Array;
  /** Route metric (priority), reported in rt_metric. */
  readonly metric?: number;
  /**
   * A locked route MTU (`ip route ... mtu lock N`): the kernel's forwarding lookup ignores an
   * unlocked one (unless ip_forward_use_pmtu) and uses the output device's.
   */
  readonly mtu?: number;
}

/** A neighbour entry: IP address on an interface -> MAC. */
export interface FibNeighbour {
  readonly ifindex: number;
  readonly ip: Uint8Array;
  readonly mac: Uint8Array;
}

/** A device as the FIB sees it. */
export interface FibDevice {
  readonly ifindex: number;
  /** MAC address (default 00:00:00:00:00:00). */
  readonly mac?: Uint8Array;
  /** MTU (default 1500). */
  readonly mtu?: number;
  /** net.ipv4.conf.<dev>.forwarding (default true); IPv6 looks at `FibTable.ipv6Forwarding` instead. */
  readonly forwarding?: boolean;
}

/** The FIB bpf_fib_lookup consults. */
export interface FibTable {
  readonly routes: readonly FibRoute[];
  readonly neighbours?: readonly FibNeighbour[];
  /** Devices: MAC, MTU and whether they forward. A lookup naming an unknown input device fails with -ENODEV. */
  readonly devices?: readonly FibDevice[];
  /** net.ipv6.conf.all.forwarding: IPv6 forwarding is one switch for the namespace (default true). */
  readonly ipv6Forwarding?: boolean;
}

const equal = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function matches(prefix: Uint8Array, len: number, addr: Uint8Array): boolean {
  for (let bit = 0; bit < len; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((prefix[bit >> 3]! & m) !== (addr[bit >> 3]! & m)) return false;
  }
  return true;
}

/**
 * Looks `params` (the struct's bytes, updated in place) up in `fib` as the kernel's
 * bpf_ipv4/ipv6_fib_lookup does for a forwarded packet: the input device must exist (-ENODEV)
 * and forward (FWD_DISABLED: per device for IPv4, one switch for IPv6); the longest matching route decides —
 * none: NOT_FWDED, a reject route: BLACKHOLE / UNREACHABLE / PROHIBIT; tot_len above the route's
 * MTU: FRAG_NEEDED with mtu_result. Then ifindex becomes the output device, rt_metric the
 * route's metric and dst the gateway (when there is one); with BPF_FIB_LOOKUP_SKIP_NEIGH that
 * is SUCCESS, otherwise the next hop needs a neighbour entry (NO_NEIGH) whose MAC becomes dmac,
 * with the device's as smac. Success zeroes the VLAN fields and reports the MTU in mtu_result.
 */
export function fibLookup(fib: FibTable | undefined, params: Uint8Array, flags: number): number {
  const v = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const family = params[FibLookup.family]!;
  if (family !== AF_INET && family !== AF_INET6) return -97; // -EAFNOSUPPORT
  const size = family === AF_INET ? 4 : 16;
  const dev = (i: number) => fib?.devices?.find((d) => d.ifindex === i);
  const inIf = v.getUint32(FibLookup.ifindex, true);
  const inDev = dev(inIf);
  if (!inDev) return -19; // -ENODEV
  const forwards = family === AF_INET ? inDev.forwarding !== false : fib?.ipv6Forwarding !== false;
  if (!forwards) return BpfFibLookupResult.FWD_DISABLED;
  const dst = params.slice(FibLookup.dst, FibLookup.dst + size);
  // The trie walk: longest prefix first; a reject route answers at once, a unicast or local route
  // only when its device suits an output lookup (BPF_FIB_LOOKUP_OUTPUT on IPv4: the device must
  // be params->ifindex; IPv6 only prefers it), else shorter prefixes are tried. IPv4's local
  // table is merged into main (no policy rules), IPv6's is not: DIRECT skips it there.
  const output = family === AF_INET && (flags & BpfFibLookupFlags.OUTPUT) !== 0;
  const candidates = (fib?.routes ?? [])
    .filter((r) => r.family === (family === AF_INET ? 4 : 6) && matches(r.dst, r.prefixLen, dst))
    .filter((r) => !(family === AF_INET6 && r.type === 'local' && flags & BpfFibLookupFlags.DIRECT))
    .sort((x, y) => y.prefixLen - x.prefixLen);
  let best: FibRoute | undefined;
  for (const r of candidates) {
    if (r.type === 'blackhole') return BpfFibLookupResult.BLACKHOLE;
    if (r.type === 'unreachable') return BpfFibLookupResult.UNREACHABLE;
    if (r.type === 'prohibit') return BpfFibLookupResult.PROHIBIT;
    if (output && r.ifindex !== inIf) continue;
    best = r;
    break;
  }
  if (!best) return BpfFibLookupResult.NOT_FWDED;
  if (best.type === 'local') return BpfFibLookupResult.NOT_FWDED;
  const outIf = best.ifindex ?? 0;
  const outDev = dev(outIf);
  const mtu = best.mtu ?? outDev?.mtu ?? 1500;
  if (v.getUint16(FibLookup.tot_len, true) > mtu) {
    v.setUint16(FibLookup.mtu_result, mtu, true);
    return BpfFibLookupResult.FRAG_NEEDED;
  }
  v.setUint32(FibLookup.tos, best.metric ?? 0, true);
  v.setUint32(FibLookup.ifindex, outIf, true);
  if (best.gateway) params.set(best.gateway, FibLookup.dst);
  if ((flags & BpfFibLookupFlags.SKIP_NEIGH) === 0) {
    const hop = best.gateway ?? dst;
    const neigh = fib?.neighbours?.find((n) => n.ifindex === outIf && equal(n.ip, hop));
    if (!neigh) return BpfFibLookupResult.NO_NEIGH;
    params.set(neigh.mac, FibLookup.dmac);
    params.set(outDev?.mac ?? new Uint8Array(6), FibLookup.smac);
  }
  v.setUint16(FibLookup.h_vlan_TCI, 0, true);
  v.setUint16(FibLookup.h_vlan_proto, 0, true);
  v.setUint16(FibLookup.mtu_result, mtu, true);
  return BpfFibLookupResult.SUCCESS;
}

/** bpf_fib_lookup(ctx, params, plen, flags), bound to `env.fib`. */
export function fibHelpers(env: HelperEnv): Map<number, HelperFn> {
  return new Map<number, HelperFn>([
    [
      BpfFuncId.fib_lookup,
      (vm, _r1, r2) => {
        const plen = argU32(vm, 3);
        const flags = argU64(vm, 4);
        const all = BpfFibLookupFlags.DIRECT | BpfFibLookupFlags.OUTPUT | BpfFibLookupFlags.SKIP_NEIGH | BpfFibLookupFlags.TBID | BpfFibLookupFlags.SRC | BpfFibLookupFlags.MARK;
        if ((flags & ~BigInt(all)) !== 0n) return -Errno.EINVAL;
        if (plen < FIB_LOOKUP_SIZE) return -Errno.EINVAL;
        const at = helperPtr(vm, r2, FIB_LOOKUP_SIZE, true);
        return fibLookup(env.fib, vm.space.memory.bytes.subarray(at, at + FIB_LOOKUP_SIZE), Number(flags));
      },
    ],
  ]);
}
