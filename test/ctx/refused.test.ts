// No helper is silently missing: every helper xdp, tc and socket filter programs may call is
// implemented or refused with a reason (an UnmodelledCallError naming it when a run reaches the call); the
// kernel's own helper sets agree; docs/helpers.md is what scripts/gen-helper-table.ts makes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { alu64, call, encode, exit, program, r0, r1 } from '../../src/isa/index.js';
import { createHelperEnv, createHelpers, REFUSED_HELPERS } from '../../src/ctx/helpers/index.js';
import { programTypeOps, PROGRAM_TYPE_OPS } from '../../src/ctx/registry.js';
import { helperAllowed, helperById, helperByName, helpersFor } from '../../src/isa/helpers.js';
import type { ProgramTypeName } from '../../src/isa/program-types.js';
import { BpfAttachType, BpfFuncId, BpfFuncIdBounds, BpfProgType } from '../../src/isa/uapi.generated.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { VerifierError } from '../../src/kernel/verifier-error.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { AddressSpace, Interpreter, prepareProgram, UnknownHelperError, UnmodelledCallError } from '../../src/vm/index.js';
import { helperRows, kfuncRows, render, TABLE_TYPES } from '../../scripts/gen-helper-table.js';
import { kernelTest } from '../kernel/harness.js';
import { repoRoot } from '../support/fixtures.js';

test('every helper a covered program type allows is implemented or refused when a run reaches the call, naming it and why', () => {
  const env = createHelperEnv();
  let refused = 0;
  let implemented = 0;
  for (const name of TABLE_TYPES) {
    const ops = programTypeOps(name)!;
    const table = createHelpers(env, ops);
    for (const h of helpersFor(name as ProgramTypeName)) {
      if (h.id === BpfFuncId.tail_call) continue;
      if (table.has(h.id)) {
        implemented++;
        continue;
      }
      const reason = (REFUSED_HELPERS as Record<string, string>)[h.name];
      assert.ok(reason, `${name}: bpf_${h.name} is allowed but neither implemented nor refused`);
      // Prepared: the call is listed up front, and faults (pc 1) only when a run reaches it.
      const prepared = prepareProgram(program(alu64.mov.imm(r1, 0), call.helper(h.id), exit()), { helpers: table });
      assert.deepEqual(prepared.unmodelledCalls, [{ pc: 1, kind: 'helper', name: `bpf_${h.name}`, reason, helperId: h.id }]);
      assert.throws(
        () => new Interpreter(prepared, new AddressSpace()).run(0),
        (e: unknown) => e instanceof UnmodelledCallError && e.code === 'ERR_UNMODELLED_CALL' && e.pc === 1 && e.callee === `bpf_${h.name}` && e.helperId === h.id && e.reason === reason && e.message.includes(`bpf_${h.name}`),
        `${name}: bpf_${h.name}`,
      );
      refused++;
    }
    // A helper the type may not call stays an UnknownHelperError (the verifier refuses it first).
    const foreign = name === 'xdp' ? BpfFuncId.skb_store_bytes : BpfFuncId.xdp_adjust_head;
    assert.throws(() => prepareProgram(program(call.helper(foreign), exit()), { helpers: table }), UnknownHelperError);
  }
  assert.ok(implemented > 200 && refused > 20, `${implemented} implemented, ${refused} refused`);
  assert.deepEqual(helperRows().filter((r) => r.status === 'missing'), []);
  // Every kfunc of the table a covered type may call is implemented, modelled or refused by name.
  assert.deepEqual(kfuncRows().filter((r) => r.status === 'missing').map((r) => r.name), []);
  assert.ok(kfuncRows().some((r) => r.name === 'bpf_cast_to_kern_ctx' && r.status === 'modelled'));
});

test('no refused helper is implemented for any runnable program type (a stale refusal)', () => {
  const env = createHelperEnv();
  const stale: string[] = [];
  for (const ops of PROGRAM_TYPE_OPS) {
    const table = createHelpers(env, ops);
    for (const name of Object.keys(REFUSED_HELPERS)) if (table.has(helperByName(name)!.id)) stale.push(`${ops.name}: bpf_${name}`);
  }
  assert.deepEqual(stale, []);
});

test('docs/helpers.md is up to date (node --import tsx scripts/gen-helper-table.ts)', () => {
  assert.equal(readFileSync(join(repoRoot, 'docs', 'helpers.md'), 'utf8'), render());
});

kernelTest("every helper the kernel lets the table's program types call is in the table (implemented, modelled or refused)", (sys) => {
  const listed = new Set(helperRows().map((r) => r.helper.id));
  const absent: string[] = [];
  const unprototyped: string[] = [];
  let allowed = 0;
  for (const name of TABLE_TYPES) {
    const type = BpfProgType[name.toUpperCase() as keyof typeof BpfProgType];
    for (let id = 1; id < BpfFuncIdBounds.__BPF_FUNC_MAX_ID; id++) {
      // `call id; r0 = 0; exit`: refused with "cannot use helper" / "unknown func" / "invalid func"
      // when the type may not call it; any other outcome (an argument complaint) means it may.
      let ok = true;
      try {
        // sk_lookup programs load only with their expected attach type (BPF_SK_LOOKUP), as libbpf's probe sets it.
        const expectedAttachType = name === 'sk_lookup' ? BpfAttachType.SK_LOOKUP : undefined;
        using prog = loadProgram(sys, { type, insns: encode(program(call.helper(id), alu64.mov.imm(r0, 0), exit())), license: 'GPL', logLevel: 1, ...(expectedAttachType !== undefined ? { expectedAttachType } : {}) });
        void prog;
      } catch (e) {
        if (!(e instanceof VerifierError) && !(e instanceof KernelError)) throw e;
        const log = e instanceof VerifierError ? e.log : '';
        if (/cannot use helper|unknown func|invalid func/.test(log)) ok = false;
      }
      if (!ok) continue;
      allowed++;
      if (!listed.has(id)) absent.push(`${name}: bpf_${helperById(id)?.name ?? id}`);
      // Allowed by the kernel for this type but not by bpfkit's prototypes (its verifier refuses the call first).
      const h = helperById(id);
      if (h && !helperAllowed(id, name) && !(h.name in REFUSED_HELPERS)) unprototyped.push(`${name}: bpf_${h.name}`);
    }
  }
  process.stdout.write(`# helper table: ${allowed} (type, helper) pairs the kernel allows, ${absent.length} absent from docs/helpers.md\n`);
  if (unprototyped.length) process.stdout.write(`# ${unprototyped.length} pairs the kernel allows that bpfkit's verifier does not yet: ${unprototyped.join(', ')}\n`);
  assert.ok(allowed > 600, `the probe found only ${allowed} allowed pairs`);
  assert.deepEqual(absent, []);
});
