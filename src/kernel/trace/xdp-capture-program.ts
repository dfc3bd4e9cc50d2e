// The programs of `bpfkit xdp dump`, built with the builder DSL: an entry recorder that tail-calls the attached
// program, and a wrapper that calls the program's own code as a subprogram to record entry and exit.
//
// A record is bpf_perf_event_output(ctx, perf_map, BPF_F_CURRENT_CPU | cap_len << 32, &meta, 32):
// for XDP the upper 32 bits of the flags ask the kernel to append that many bytes of the packet
// (bpf_xdp_event_output), so the packet is never copied through the stack. `meta`:
//
//    0 ingress ifindex u32   4 rx queue u32   8 packet length u32   12 captured length u32
//   16 point u32 (0 entry, 1 exit)   20 XDP action u32 (exit)   24 bpf_ktime_get_ns() u64
//
// The packet length is bpf_xdp_get_buff_len() (the verifier refuses data_end - data arithmetic);
// the captured length is min(length, snaplen).
import { alu64, call, exit, jmp, label, ld, ldx, program, st, stx, type Label } from '../../isa/builder.js';
import { encode } from '../../isa/encode.js';
import type { Instruction } from '../../isa/instruction.js';

/** Size of the metadata in front of each captured packet. */
export const CAPTURE_META_SIZE = 32;
/** Capture points. */
export const CapturePoint = { ENTRY: 0, EXIT: 1 } as const;

const META = -32;
let labels = 0;

/** Instructions recording the packet at `point`; the action from register 7 at exit. ctx is in r6. */
function record(perfMapFd: number, snaplen: number, point: number): (Instruction | Label)[] {
  const ok = `cap_ok_${labels++}`;
  return [
    alu64.mov.reg(1, 6),
    call.helper('xdp_get_buff_len'),
    stx.w(10, META + 8, 0),
    jmp.jle.imm(0, snaplen, ok),
    alu64.mov.imm(0, snaplen),
    label(ok),
    stx.w(10, META + 12, 0),
    ldx.w(1, 6, 12), // ingress_ifindex
    stx.w(10, META, 1),
    ldx.w(1, 6, 16), // rx_queue_index
    stx.w(10, META + 4, 1),
    st.w(10, META + 16, point),
    point === CapturePoint.EXIT ? stx.w(10, META + 20, 7) : st.w(10, META + 20, 0),
    call.helper('ktime_get_ns'),
    stx.dw(10, META + 24, 0),
    ldx.w(3, 10, META + 12),
    alu64.lsh.imm(3, 32),
    ld.imm64(1, 0xffffffffn), // BPF_F_CURRENT_CPU
    alu64.or.reg(3, 1),
    alu64.mov.reg(1, 6),
    ld.map_fd(2, perfMapFd),
    alu64.mov.reg(4, 10),
    alu64.add.imm(4, META),
    alu64.mov.imm(5, CAPTURE_META_SIZE),
    call.helper('perf_event_output'),
  ];
}

/**
 * The entry recorder: records the packet, then tail-calls slot 0 of `progArrayFd` (the program
 * that was attached). Should the tail call fail (the slot emptied), the packet passes.
 */
export function entryWrapper(perfMapFd: number, progArrayFd: number, snaplen: number): Uint8Array {
  return encode(program(
    alu64.mov.reg(6, 1),
    record(perfMapFd, snaplen, CapturePoint.ENTRY),
    alu64.mov.reg(1, 6),
    ld.map_fd(2, progArrayFd),
    alu64.mov.imm(3, 0),
    call.helper('tail_call'),
    alu64.mov.imm(0, 2), // XDP_PASS
    exit(),
  ));
}

/**
 * The entry/exit wrapper: records at entry (if asked), calls `inner` — the encoded, relocated
 * instructions of the attached program, appended as a BPF-to-BPF subprogram — records the packet
 * as the program left it and its action at exit (if asked), and returns that action.
 */
export function callingWrapper(perfMapFd: number, snaplen: number, inner: Uint8Array, at: { entry: boolean; exit: boolean }): Uint8Array {
  const head = program(
    alu64.mov.reg(6, 1),
    at.entry ? record(perfMapFd, snaplen, CapturePoint.ENTRY) : [],
    alu64.mov.reg(1, 6),
    call.func(0), // patched below: the first instruction of `inner`
    alu64.mov.reg(7, 0),
    at.exit ? record(perfMapFd, snaplen, CapturePoint.EXIT) : [],
    alu64.mov.reg(0, 7),
    exit(),
  );
  const bytes = encode(head);
  // Find the call (opcode 0x85, src 1 = BPF_PSEUDO_CALL) and point it past the wrapper.
  const slots = bytes.length / 8;
  for (let i = 0; i < slots; i++) {
    if (bytes[i * 8] === 0x85 && ((bytes[i * 8 + 1] as number) >> 4) === 1) {
      new DataView(bytes.buffer, bytes.byteOffset + i * 8 + 4, 4).setInt32(0, slots - (i + 1), true);
      break;
    }
  }
  const out = new Uint8Array(bytes.length + inner.length);
  out.set(bytes);
  out.set(inner, bytes.length);
  return out;
}

/** One captured packet as the programs recorded it. */
export interface XdpCaptureRecord {
  /** `'entry'`: as the attached program received it; `'exit'`: as it left it, with its action. */
  readonly point: 'entry' | 'exit';
  readonly ifindex: number;
  readonly rxQueue: number;
  /** Length of the packet. */
  readonly pktLen: number;
  /** Bytes captured (at most the snaplen). */
  readonly capLen: number;
  /** XDP action at exit (0 ABORTED, 1 DROP, 2 PASS, 3 TX, 4 REDIRECT). */
  readonly action: number | undefined;
  /** bpf_ktime_get_ns() when recorded (CLOCK_MONOTONIC). */
  readonly timeNs: bigint;
  /** The CPU that recorded it. */
  readonly cpu: number;
  /** The captured bytes. */
  readonly data: Uint8Array;
}

/** Decodes one perf sample of the capture programs (undefined when too short to be one). */
export function decodeCaptureSample(sample: Uint8Array, cpu: number): XdpCaptureRecord | undefined {
  if (sample.length < CAPTURE_META_SIZE) return undefined;
  const v = new DataView(sample.buffer, sample.byteOffset, sample.byteLength);
  const capLen = v.getUint32(12, true);
  if (sample.length < CAPTURE_META_SIZE + capLen) return undefined;
  const exitPoint = v.getUint32(16, true) === CapturePoint.EXIT;
  return {
    point: exitPoint ? 'exit' : 'entry',
    ifindex: v.getUint32(0, true),
    rxQueue: v.getUint32(4, true),
    pktLen: v.getUint32(8, true),
    capLen,
    action: exitPoint ? v.getUint32(20, true) : undefined,
    timeNs: v.getBigUint64(24, true),
    cpu,
    data: sample.slice(CAPTURE_META_SIZE, CAPTURE_META_SIZE + capLen),
  };
}
