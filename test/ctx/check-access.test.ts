// checkAccess of every program type vs the kernel's verifier: every offset and size, loads and stores.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, encode, exit, ldx, ldxs, program, r0, r1, r2, stx } from '../../src/isa/index.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { programTypeOps, PROGRAM_TYPE_OPS, VERIFIER_ONLY_OPS } from '../../src/ctx/registry.js';
import { cgroupSockOps } from '../../src/ctx/cgroup-sock.js';
import { cgroupSockAddrOps, SOCK_ADDR_ATTACH_TYPES } from '../../src/ctx/cgroup-sock-addr.js';
import { cgroupSockoptOps } from '../../src/ctx/cgroup-sockopt.js';
import type { ProgramTypeOps } from '../../src/ctx/program-type-ops.js';
import { BpfProgLoadFlags } from '../../src/isa/program-types.js';
import { BpfAttachType, BpfProgType } from '../../src/isa/uapi.generated.js';
import type { Sys } from '../../src/kernel/sys.js';
import { kernelTest } from '../kernel/harness.js';

const SIZES = { 1: 'b', 2: 'h', 4: 'w', 8: 'dw' } as const;

/** r2 = *(size *)(r1 + off) (sign-extending with `sx`) or *(size *)(r1 + off) = r2; r0 = 1 (inside every return range); exit. */
function access(off: number, size: 1 | 2 | 4 | 8, write: boolean, sx = false) {
  const s = SIZES[size];
  const load = sx && s !== 'dw' ? ldxs[s](r2, r1, off) : ldx[s](r2, r1, off);
  return program(alu64.mov.imm(r2, 0), write ? stx[s](r1, off, r2) : load, alu64.mov.imm(r0, 1), exit());
}

/** The offsets swept: all of a small context; a big one's (a tracepoint record, 8 KiB) first and last 260 bytes. */
function offsets(ctxSize: number): number[] {
  const all = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
  // An instruction's offset is 16 bits: a bigger context (syscall's, 64 KiB) is swept up to 32767.
  return (ctxSize <= 512 ? all(-4, ctxSize + 4) : [...all(-4, 256), ...all(ctxSize - 256, ctxSize + 4)]).filter((o) => o <= 32767);
}

/** Every access of `ops`'s context compared with the kernel's verdict, loaded with `attachType` (default: the type's own). */
function sweep(sys: Sys, ops: ProgramTypeOps, attachType?: number): void {
  let compared = 0;
  const disagreements: string[] = [];
  const eat = attachType ?? ops.expectedAttachType;
  for (const [write, sx] of [[false, false], [true, false], [false, true]] as const) {
    for (const off of offsets(ops.ctxSize)) {
      for (const size of [1, 2, 4, 8] as const) {
        if (sx && size === 8) continue;
        let kernel: string | undefined;
        try {
          loadProgram(sys, { type: ops.type, insns: encode(access(off, size, write, sx)), license: 'GPL', ...(ops.type === BpfProgType.SYSCALL ? { flags: BpfProgLoadFlags.SLEEPABLE } : {}), ...(eat !== undefined ? { expectedAttachType: eat } : {}) }).close();
        } catch (err) {
          if (!(err instanceof VerifierError)) throw err;
          const line = err.lines.find((l) => l.includes('invalid bpf_context access')) ?? err.summary;
          kernel = line.trim();
        }
        const mine = ops.checkAccess(off, size, write, sx, true, eat);
        const myReason = 'reason' in mine ? mine.reason : undefined;
        compared++;
        if ((kernel === undefined) !== (myReason === undefined) || (kernel !== undefined && !kernel.includes(myReason!))) {
          disagreements.push(`${write ? 'store' : sx ? 'sign-extending load' : 'load'} off=${off} size=${size}: kernel ${kernel ?? 'accepts'}, bpfkit ${myReason ?? 'accepts'}`);
        }
      }
    }
  }
  process.stdout.write(`# ${ops.name}${attachType !== undefined ? ` (attach type ${attachType})` : ''}: ${compared} context accesses compared with the kernel\n`);
  assert.deepEqual(disagreements, []);
}

for (const ops of [...PROGRAM_TYPE_OPS, ...VERIFIER_ONLY_OPS]) {
  kernelTest(`${ops.name}: checkAccess agrees with the kernel on every offset, size and direction`, (sys) => sweep(sys, ops));
}

// Types whose rules depend on the attach type: each attach type with rules of its own.
for (const at of [BpfAttachType.CGROUP_INET_SOCK_RELEASE, BpfAttachType.CGROUP_INET4_POST_BIND, BpfAttachType.CGROUP_INET6_POST_BIND]) {
  kernelTest(`cgroup_sock (attach type ${at}): checkAccess agrees with the kernel on every access`, (sys) => sweep(sys, cgroupSockOps, at));
}
// cgroup_sock_addr: the address fields of each hook's family (connect4 is swept above).
for (const at of SOCK_ADDR_ATTACH_TYPES.filter((t) => t !== cgroupSockAddrOps.expectedAttachType)) {
  kernelTest(`cgroup_sock_addr (attach type ${at}): checkAccess agrees with the kernel on every access`, (sys) => sweep(sys, cgroupSockAddrOps, at));
}
// cgroup_sockopt: level/optname writable at setsockopt, retval at getsockopt (swept above).
kernelTest(`cgroup_sockopt (attach type ${BpfAttachType.CGROUP_SETSOCKOPT}): checkAccess agrees with the kernel on every access`, (sys) => sweep(sys, cgroupSockoptOps, BpfAttachType.CGROUP_SETSOCKOPT));

test('the registry finds types by value and by name', () => {
  assert.equal(programTypeOps('xdp')?.name, 'xdp');
  assert.equal(programTypeOps('sched_cls')?.ctxSize, 192);
  assert.equal(programTypeOps(1)?.name, 'socket_filter');
  assert.equal(programTypeOps('kprobe'), undefined, 'kprobe programs are verified, not run');
  assert.equal(VERIFIER_ONLY_OPS.find((o) => o.name === 'kprobe')?.ctxSize, 168);
});
