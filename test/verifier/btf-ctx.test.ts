// BTF-typed tracing contexts (src/verifier/btf-ctx.ts) against the running kernel's BTF: fentry/fexit/fmod_ret/iter, which
// this kernel refuses with EPERM, follow btf_ctx_access's rules as the selftests' annotations state them; tp_btf is
// compared with BPF_PROG_LOAD in ctx-rules.test.ts (fixture ctx_tp_btf).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseBtf } from '../../src/btf/index.js';
import { alu64, exit, ldx, program, type Instruction } from '../../src/isa/index.js';
import { BpfAttachType, BpfProgType } from '../../src/isa/uapi.generated.js';
import { resolveTracingTarget, tracingCtxAccess } from '../../src/verifier/btf-ctx.js';
import { verifyInstructions, type VerifyResult } from '../../src/verifier/verify.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const kernelBtf = existsSync(VMLINUX) ? parseBtf(new Uint8Array(readFileSync(VMLINUX))) : undefined;
const skip = kernelBtf ? false : 'the machine has no kernel BTF (/sys/kernel/btf/vmlinux)';

function verify(attach: number, target: string, insns: Instruction[], withBtf = true): VerifyResult {
  return verifyInstructions(program(...insns), {
    programType: BpfProgType.TRACING,
    expectedAttachType: attach,
    attachTarget: target,
    logLevel: 2,
    ...(withBtf && kernelBtf ? { kernelBtf } : {}),
  });
}
const ret0 = [alu64.mov.imm(0, 0), exit()];

test('fentry: an int pointer argument is a scalar (not dereferenceable); a struct pointer is PTR_TO_BTF_ID, untrusted, read through', { skip }, () => {
  // bpf_modify_return_test(int a, int *b): selftests' btf_ctx_access accept.
  assert.equal(verify(BpfAttachType.TRACE_FENTRY, 'bpf_modify_return_test', [ldx.dw(2, 1, 8), ...ret0]).verdict, 'accept');
  const deref = verify(BpfAttachType.TRACE_FENTRY, 'bpf_modify_return_test', [ldx.dw(2, 1, 8), ldx.w(3, 2, 0), ...ret0]);
  assert.equal(deref.verdict, 'reject');
  assert.equal(deref.message, "R2 invalid mem access 'scalar'");
  // tcp_v4_connect(struct sock *sk, ...): sk is a plain PTR_TO_BTF_ID (fentry arguments are not trusted), its fields load.
  const sk = verify(BpfAttachType.TRACE_FENTRY, 'tcp_v4_connect', [ldx.dw(2, 1, 0), ldx.w(3, 2, 0), ...ret0]);
  assert.equal(sk.verdict, 'accept', sk.message);
  assert.match(sk.log, /R2_?w?=ptr_sock\(/);
  assert.doesNotMatch(sk.log, /trusted_ptr_sock/);
  // No stores into the context, pointers read whole.
  assert.equal(verify(BpfAttachType.TRACE_FENTRY, 'tcp_v4_connect', [ldx.w(3, 1, 0), ...ret0]).message, 'invalid bpf_context access off=0 size=4');
});

test('fexit sees the return value after the arguments, fmod_ret an int return, fentry neither', { skip }, () => {
  // bpf_modify_return_test has 2 arguments: slot 2 is the return value.
  assert.equal(verify(BpfAttachType.TRACE_FEXIT, 'bpf_modify_return_test', [ldx.dw(2, 1, 16), ...ret0]).verdict, 'accept');
  assert.equal(verify(BpfAttachType.MODIFY_RETURN, 'bpf_modify_return_test', [ldx.dw(2, 1, 16), ...ret0]).verdict, 'accept');
  const fentry = verify(BpfAttachType.TRACE_FENTRY, 'bpf_modify_return_test', [ldx.dw(2, 1, 16), ...ret0]);
  assert.equal(fentry.message, 'invalid bpf_context access off=16 size=8');
  assert.match(fentry.log, /func 'bpf_modify_return_test' doesn't have 3-th argument/);
  assert.equal(verify(BpfAttachType.TRACE_FEXIT, 'bpf_modify_return_test', [ldx.dw(2, 1, 24), ...ret0]).verdict, 'reject');
});

test('tp_btf: the btf_trace_ typedef types the slots after its void *__data; arguments are trusted', { skip }, () => {
  // sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state)
  const r = verify(BpfAttachType.TRACE_RAW_TP, 'sched_switch', [ldx.dw(2, 1, 8), ldx.w(3, 2, 0), ldx.dw(4, 1, 24), ...ret0]);
  assert.equal(r.verdict, 'accept', r.message);
  assert.match(r.log, /trusted_ptr_task_struct\(/);
  assert.equal(verify(BpfAttachType.TRACE_RAW_TP, 'sched_switch', [ldx.dw(2, 1, 32), ...ret0]).message, 'invalid bpf_context access off=32 size=8');
});

test('iter: the iterated object may be NULL, the meta not', { skip }, () => {
  // bpf_iter_task(struct bpf_iter_meta *meta, struct task_struct *task)
  const noCheck = verify(BpfAttachType.TRACE_ITER, 'task', [ldx.dw(2, 1, 8), ldx.w(3, 2, 0), ...ret0]);
  assert.equal(noCheck.verdict, 'reject');
  assert.match(noCheck.message ?? '', /^R2 invalid mem access '.*or_null/);
  assert.equal(verify(BpfAttachType.TRACE_ITER, 'task', [ldx.dw(2, 1, 0), ldx.dw(3, 2, 0), ...ret0]).verdict, 'accept');
});

test('a target the BTF lacks is a rejection naming it, with a hint; without the BTF the context stays refused', { skip }, () => {
  const tp = verify(BpfAttachType.TRACE_RAW_TP, 'no_such_tracepoint', ret0);
  assert.equal(tp.verdict, 'reject');
  assert.match(tp.message ?? '', /tracepoint no_such_tracepoint is not in the kernel's BTF/);
  assert.ok(tp.hint);
  const fn = verify(BpfAttachType.TRACE_FENTRY, 'no_such_function_here', ret0);
  assert.match(fn.message ?? '', /attach target no_such_function_here is not a function in the kernel's BTF/);
  assert.equal(verify(BpfAttachType.TRACE_RAW_TP, 'sched_switch', [ldx.dw(2, 1, 8), ...ret0], false).message, 'invalid bpf_context access off=8 size=8');
});

test('every tp_btf and fentry target of the kernel BTF answers every context access without throwing', { skip }, () => {
  const btf = kernelBtf!;
  const targets: [number, string][] = [];
  for (let id = 1; id < btf.types.length; id++) {
    const t = btf.typeById(id);
    if (t.kind === 'typedef' && t.name.startsWith('btf_trace_')) targets.push([BpfAttachType.TRACE_RAW_TP, t.name.slice('btf_trace_'.length)]);
    else if (t.kind === 'func' && id % 7 === 0) targets.push([BpfAttachType.TRACE_FEXIT, t.name]);
  }
  assert.ok(targets.length > 100, `only ${targets.length} targets`);
  let typed = 0;
  for (const [attach, name] of targets) {
    const target = resolveTracingTarget(btf, attach, name);
    assert.notEqual(typeof target, 'string', `${name}: ${String(target)}`);
    if (typeof target === 'string') continue;
    for (let off = -8; off <= 104; off += 4) {
      for (const size of [1, 2, 4, 8]) {
        for (const write of [false, true]) {
          const r = tracingCtxAccess(btf, target, off, size, write);
          if ('reason' in r) assert.equal(r.reason, `invalid bpf_context access off=${off} size=${size}`);
          else {
            assert.ok(!write && off >= 0 && off % 8 === 0, `${name}: ${write ? 'store' : 'load'} at ${off} size ${size} allowed`);
            if (r.type === 'btf_id') typed++;
          }
        }
      }
    }
  }
  assert.ok(typed > 0);
});
