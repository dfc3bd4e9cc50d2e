// The skb:kfree_skb raw tracepoint program of `bpfkit trace drops`, built with the builder DSL from offsets in the kernel's BTF.
//
// For each drop it fills an 80-byte key on the stack and counts it in a hash map (atomic add; a
// new key is inserted with BPF_NOEXIST and counted again if another CPU won the race):
//
//    0 location u64 (the caller's return address)   8 reason u32   12 ifindex u32
//   16 saddr[16]   32 daddr[16]   48 sport be16   50 dport be16   52 skb->protocol be16
//   54 l4 protocol u8   55 IP version u8 (4, 6, 0)   56 dev->name[16]
//   72 the device's network namespace (its inode number, as /proc/PID/ns/net)   76 zero
//
// Every kernel pointer is read with bpf_probe_read_kernel (raw tracepoints get untyped u64
// arguments). The IP header is found at skb->head + skb->network_header, the ports after it
// (IPv4: ihl * 4; IPv6: the fixed 40 bytes), never from transport_header, which ingress paths set
// to the network header until L4 runs. Reasons 0 and 1 (not dropped yet, consumed) are skipped.
import type { Btf } from '../../btf/index.js';
import { alu64, atomic, call, exit, jmp, jmp32, label, ld, ldx, program, st, stx } from '../../isa/builder.js';
import type { Instruction } from '../../isa/instruction.js';
import { memberOffset, rawTracepointArgs } from './btf-offsets.js';

/** Size of a drop key. */
export const DROP_KEY_SIZE = 80;
/** Byte offsets in a drop key. */
export const DropKey = {
  location: 0,
  reason: 8,
  ifindex: 12,
  saddr: 16,
  daddr: 32,
  sport: 48,
  dport: 50,
  ethProto: 52,
  l4Proto: 54,
  ipVersion: 55,
  dev: 56,
  netns: 72,
} as const;

/** What the program needs from the kernel's BTF. */
export interface DropProgramLayout {
  /** Argument index (in the raw tracepoint's u64 array) of skb, location and reason. */
  readonly args: { readonly skb: number; readonly location: number; readonly reason: number };
  readonly skb: { readonly dev: number; readonly protocol: number; readonly head: number; readonly networkHeader: number };
  readonly netDevice: { readonly ifindex: number; readonly name: number; readonly ndNet: number };
  /** Offset of the namespace inode in `struct net` (net.ns.inum). */
  readonly netInum: number;
}

/** Reads the layout from vmlinux BTF: kfree_skb's arguments and the sk_buff / net_device members used. */
export function dropProgramLayout(btf: Btf): DropProgramLayout {
  const names = rawTracepointArgs(btf, 'kfree_skb').map((a) => a.name);
  const at = (n: string, fallback: number): number => (names.includes(n) ? names.indexOf(n) : fallback);
  return {
    args: { skb: at('skb', 0), location: at('location', 1), reason: at('reason', 2) },
    skb: {
      dev: memberOffset(btf, 'sk_buff', 'dev').offset,
      protocol: memberOffset(btf, 'sk_buff', 'protocol').offset,
      head: memberOffset(btf, 'sk_buff', 'head').offset,
      networkHeader: memberOffset(btf, 'sk_buff', 'network_header').offset,
    },
    netDevice: {
      ifindex: memberOffset(btf, 'net_device', 'ifindex').offset,
      name: memberOffset(btf, 'net_device', 'name').offset,
      ndNet: memberOffset(btf, 'net_device', 'nd_net').offset,
    },
    netInum: memberOffset(btf, 'net', 'ns').offset + memberOffset(btf, 'ns_common', 'inum').offset,
  };
}

const K = -80; // the key's stack offset
const PTR = -88; // scratch u64
const NH = -96; // scratch u16
const ONE = -104; // the value 1 for inserts
const HDR = -144; // 40 bytes of IP header

/** `probe_read_kernel(fp + dstOff, size, base + off)`. */
function readKernel(dstOff: number, size: number, base: 6 | 7 | 8 | 9, off: number): Instruction[] {
  return [alu64.mov.reg(1, 10), alu64.add.imm(1, dstOff), alu64.mov.imm(2, size), alu64.mov.reg(3, base), ...(off ? [alu64.add.imm(3, off)] : []), call.helper('probe_read_kernel')];
}

/** Which drops a {@link dropProgram} counts: those of one device (ifindex and network namespace inode). */
export interface DropFilter {
  readonly ifindex: number;
  /** The device's namespace inode; undefined: any namespace. */
  readonly netns?: number;
}

/**
 * The program: counts each drop in map `mapFd` (a hash of {@link DROP_KEY_SIZE}-byte keys and u64
 * values). With `filter`, only drops whose skb->dev has that index (in that namespace) are counted.
 */
export function dropProgram(layout: DropProgramLayout, mapFd: number, filter?: DropFilter): Instruction[] {
  const count = (): Instruction[] => [alu64.mov.imm(1, 1), atomic.dw.add(0, 0, 1)];
  return program(
    alu64.mov.reg(6, 1),
    ldx.dw(7, 6, 8 * layout.args.reason),
    jmp.jle.imm(7, 1, 'out'),
    alu64.mov.imm(1, 0),
    Array.from({ length: DROP_KEY_SIZE / 8 }, (_, i) => stx.dw(10, K + 8 * i, 1)),
    stx.w(10, K + DropKey.reason, 7),
    ldx.dw(1, 6, 8 * layout.args.location),
    stx.dw(10, K + DropKey.location, 1),
    ldx.dw(9, 6, 8 * layout.args.skb),
    // dev, its ifindex and name
    readKernel(PTR, 8, 9, layout.skb.dev),
    ldx.dw(8, 10, PTR),
    jmp.jeq.imm(8, 0, 'nodev'),
    readKernel(K + DropKey.ifindex, 4, 8, layout.netDevice.ifindex),
    readKernel(K + DropKey.dev, 16, 8, layout.netDevice.name),
    readKernel(PTR, 8, 8, layout.netDevice.ndNet),
    ldx.dw(8, 10, PTR),
    jmp.jeq.imm(8, 0, 'nodev'),
    readKernel(K + DropKey.netns, 4, 8, layout.netInum),
    label('nodev'),
    filter !== undefined ? [ldx.w(1, 10, K + DropKey.ifindex), jmp.jne.imm(1, filter.ifindex, 'out')] : [],
    // A 32-bit compare: inode numbers pass 2^31, and a 64-bit jump's imm is sign-extended.
    filter?.netns !== undefined ? [ldx.w(1, 10, K + DropKey.netns), jmp32.jne.imm(1, filter.netns, 'out')] : [],
    // skb->protocol, head, network_header
    readKernel(K + DropKey.ethProto, 2, 9, layout.skb.protocol),
    readKernel(PTR, 8, 9, layout.skb.head),
    ldx.dw(7, 10, PTR),
    readKernel(NH, 2, 9, layout.skb.networkHeader),
    ldx.h(8, 10, NH),
    jmp.jeq.imm(8, 0xffff, 'count'),
    alu64.add.reg(7, 8),
    ldx.h(1, 10, K + DropKey.ethProto),
    jmp.jeq.imm(1, 0x0008, 'v4'), // ETH_P_IP, big-endian bytes read little-endian
    jmp.jeq.imm(1, 0xdd86, 'v6'), // ETH_P_IPV6
    jmp.ja('count'),
    label('v4'),
    readKernel(HDR, 20, 7, 0),
    jmp.jne.imm(0, 0, 'count'),
    ldx.b(1, 10, HDR + 9),
    stx.b(10, K + DropKey.l4Proto, 1),
    st.b(10, K + DropKey.ipVersion, 4),
    ldx.w(1, 10, HDR + 12),
    stx.w(10, K + DropKey.saddr, 1),
    ldx.w(1, 10, HDR + 16),
    stx.w(10, K + DropKey.daddr, 1),
    ldx.h(1, 10, HDR + 6),
    alu64.and.imm(1, 0xff1f), // fragment offset (big-endian 0x1fff): later fragments have no ports
    jmp.jne.imm(1, 0, 'count'),
    ldx.b(1, 10, HDR),
    alu64.and.imm(1, 0x0f),
    alu64.lsh.imm(1, 2),
    alu64.add.reg(7, 1),
    jmp.ja('ports'),
    label('v6'),
    readKernel(HDR, 40, 7, 0),
    jmp.jne.imm(0, 0, 'count'),
    ldx.b(1, 10, HDR + 6),
    stx.b(10, K + DropKey.l4Proto, 1),
    st.b(10, K + DropKey.ipVersion, 6),
    [8, 16, 24, 32].map((o, i) => [ldx.dw(1, 10, HDR + o), stx.dw(10, K + DropKey.saddr + 8 * i, 1)]).flat(),
    alu64.add.imm(7, 40),
    label('ports'),
    ldx.b(1, 10, K + DropKey.l4Proto),
    jmp.jeq.imm(1, 6, 'rdports'),
    jmp.jeq.imm(1, 17, 'rdports'),
    jmp.jeq.imm(1, 132, 'rdports'),
    jmp.ja('count'),
    label('rdports'),
    readKernel(K + DropKey.sport, 4, 7, 0),
    label('count'),
    ld.map_fd(1, mapFd),
    alu64.mov.reg(2, 10),
    alu64.add.imm(2, K),
    call.helper('map_lookup_elem'),
    jmp.jeq.imm(0, 0, 'insert'),
    count(),
    jmp.ja('out'),
    label('insert'),
    st.dw(10, ONE, 1),
    ld.map_fd(1, mapFd),
    alu64.mov.reg(2, 10),
    alu64.add.imm(2, K),
    alu64.mov.reg(3, 10),
    alu64.add.imm(3, ONE),
    alu64.mov.imm(4, 1), // BPF_NOEXIST
    call.helper('map_update_elem'),
    jmp.jeq.imm(0, 0, 'out'),
    ld.map_fd(1, mapFd),
    alu64.mov.reg(2, 10),
    alu64.add.imm(2, K),
    call.helper('map_lookup_elem'),
    jmp.jeq.imm(0, 0, 'out'),
    count(),
    label('out'),
    alu64.mov.imm(0, 0),
    exit(),
  );
}
