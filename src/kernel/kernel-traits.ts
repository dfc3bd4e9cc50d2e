// Probes the running kernel for the build-dependent behaviours the userspace runtime reproduces (src/ctx/kernel-traits.ts).
import { kernelTraits, type KernelTraits, type SockRxQueueMappingRead } from '../ctx/kernel-traits.js';
import { SkBuff } from '../ctx/sk-buff.js';
import { BpfSock } from '../ctx/test-run-sock.js';
import { encode } from '../isa/encode.js';
import { alu64, exit, jmp, label, ldx, program } from '../isa/builder.js';
import { r0, r1, r2 } from '../isa/instruction.js';
import { BpfProgType } from '../isa/uapi.generated.js';
import { loadProgram } from './bpf/prog-load.js';
import { testRun } from './bpf/prog-test-run.js';
import type { Sys } from './sys.js';

const cache = new WeakMap<Sys, KernelTraits>();

/**
 * How this kernel reads `__sk_buff->sk->rx_queue_mapping` of a test run's socket: a socket
 * filter returns the upper half of a 4-byte load, 0xffffffff where the kernel sign-extends
 * NO_QUEUE_MAPPING to 64 bits, 0 where it writes a 32-bit -1.
 */
function probeSockRxQueueMapping(sys: Sys): SockRxQueueMappingRead {
  const insns = program(
    ldx.dw(r2, r1, SkBuff.sk),
    alu64.mov.imm(r0, 7),
    jmp.jeq.imm(r2, 0, 'out'),
    ldx.w(r0, r2, BpfSock.rx_queue_mapping),
    alu64.rsh.imm(r0, 32),
    label('out'),
    exit(),
  );
  using prog = loadProgram(sys, { type: BpfProgType.SOCKET_FILTER, insns: encode(insns), license: 'GPL', name: 'bpfkit_probe' });
  const frame = new Uint8Array(14 + 20);
  frame[12] = 0x08;
  frame[14] = 0x45;
  const { retval } = testRun(prog, { dataIn: frame });
  if (retval === 7) throw new Error('probe: the test run has no socket');
  return retval >>> 0 === 0xffffffff ? 's64' : 'u32';
}

/**
 * The build-dependent behaviours of the kernel behind `sys`, probed once per Sys (a few test
 * runs), for `run(..., { kernel })` and the contexts' `kernel` option to reproduce this kernel
 * exactly. Throws KernelError where the kernel refuses to answer (no CAP_BPF).
 */
export function probeKernelTraits(sys: Sys): KernelTraits {
  let traits = cache.get(sys);
  if (!traits) cache.set(sys, (traits = kernelTraits({ sockRxQueueMapping: probeSockRxQueueMapping(sys) })));
  return traits;
}
