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
  /** unicast (default), or a reject route with the matching BPF_FIB_LKUP_RET_* code. */
  readonly type?: 'unicast' | 'blackhole' | 'unreachable' | 'prohibit';
  /** Output interface (unicast). */
  readonly ifindex?: number;
  /** Next hop; absent: directly connected (the destination is the neighbour). */
  readonly gateway?: Uint8Array;
}

/** A neighbour entry: IP address on an interface -> MAC. */
export interface FibNeighbour {
  readonly ifindex: number;
  readonly ip: Uint8Array;
  readonly mac: Uint8Array;
}

/** The FIB bpf_fib_lookup consults. */
export interface FibTable {
  readonly routes: readonly FibRoute[];
  readonly neighbours?: readonly FibNeighbour[];
  /** Per-interface MAC, MTU and whether it forwards (default: 00..00, 1500, forwarding on). */
  readonly devices?: readonly { readonly ifindex: number; readonly mac?: Uint8Array; readonly mtu?: number; readonly forwarding?: boolean }[];
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
 * Looks up `params` (the struct's bytes, updated in place) in `fib` as bpf_fib_lookup does for
 * a forwarded packet: the longest matching route; reject routes return their code; the output
 * device's forwarding switch, MTU (tot_len > mtu: FRAG_NEEDED with mtu_result) and the
 * neighbour's MAC (absent: NO_NEIGH, unless BPF_FIB_LOOKUP_SKIP_NEIGH) decide the rest. On
 * SUCCESS, ifindex, smac and dmac are filled in.
 */
export function fibLookup(fib: FibTable | undefined, params: Uint8Array, flags: number): number {
  const v = new DataView(params.buffer, params.byteOffset, params.byteLength);
  const family = params[FibLookup.family]!;
  if (family !== AF_INET && family !== AF_INET6) return -95; // -EAFNOSUPPORT
  const size = family === AF_INET ? 4 : 16;
  const dst = params.slice(FibLookup.dst, FibLookup.dst + size);
  let best: FibRoute | undefined;
  for (const r of fib?.routes ?? []) {
    if (r.family !== (family === AF_INET ? 4 : 6) || !matches(r.dst, r.prefixLen, dst)) continue;
    if (!best || r.prefixLen > best.prefixLen) best = r;
  }
  if (!best) return BpfFibLookupResult.NOT_FWDED;
  if (best.type === 'blackhole') return BpfFibLookupResult.BLACKHOLE;
  if (best.type === 'unreachable') return BpfFibLookupResult.UNREACHABLE;
  if (best.type === 'prohibit') return BpfFibLookupResult.PROHIBIT;
  const inIf = v.getUint32(FibLookup.ifindex, true);
  const dev = (i: number) => fib?.devices?.find((d) => d.ifindex === i);
  if (dev(inIf)?.forwarding === false && (flags & BpfFibLookupFlags.OUTPUT) === 0) return BpfFibLookupResult.FWD_DISABLED;
  const outIf = best.ifindex ?? 0;
  const mtu = dev(outIf)?.mtu ?? 1500;
  const totLen = v.getUint16(FibLookup.tot_len, true);
  if (totLen > mtu) {
    v.setUint16(FibLookup.mtu_result, mtu, true);
    return BpfFibLookupResult.FRAG_NEEDED;
  }
  v.setUint32(FibLookup.ifindex, outIf, true);
  params.set(dev(outIf)?.mac ?? new Uint8Array(6), FibLookup.smac);
  if ((flags & BpfFibLookupFlags.SKIP_NEIGH) !== 0) return BpfFibLookupResult.SUCCESS;
  const hop = best.gateway ?? dst;
  const neigh = fib?.neighbours?.find((n) => n.ifindex === outIf && equal(n.ip, hop));
  if (!neigh) return BpfFibLookupResult.NO_NEIGH;
  params.set(neigh.mac, FibLookup.dmac);
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
