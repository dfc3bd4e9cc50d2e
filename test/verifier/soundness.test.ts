// Soundness: every mutated corpus program bpfkit accepts runs in the checked interpreter on random
// packets and maps without a MemoryFault (~20 s bound in CI; scripts/verifier-fuzz.ts runs long).
// Also the harness itself: every program the kernel accepts runs without a fault.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CORPUS_MAPS, corpus } from './corpus/index.js';
import { fuzzVerifier } from './fuzz-run.js';
import { readGolden } from './golden.js';
import { runAccepted } from './soundness.js';

test('harness: every corpus program the kernel accepts runs without a memory fault', () => {
  const golden = readGolden();
  const faults: string[] = [];
  let ran = 0;
  for (const p of corpus()) {
    if (golden.programs[p.name]?.verdict !== 'accept') continue;
    const r = runAccepted(p.type, p.insns, CORPUS_MAPS, 1, 6);
    if (r.kind === 'fault') faults.push(`${p.name}: ${r.detail}`);
    if (r.kind !== 'not-runnable') ran++;
  }
  console.log(`# ${ran} kernel-accepted corpus programs ran fault-free`);
  assert.ok(ran > 300);
  assert.deepEqual(faults, []);
});

test('harness: it does catch faults — kernel-rejected corpus programs fault when run anyway', () => {
  const golden = readGolden();
  const faulted: string[] = [];
  for (const p of corpus()) {
    if (golden.programs[p.name]?.verdict !== 'reject' || p.name.startsWith('loop/')) continue;
    if (runAccepted(p.type, p.insns, CORPUS_MAPS, 1, 6).kind === 'fault') faulted.push(p.name);
  }
  console.log(`# ${faulted.length} kernel-rejected corpus programs fault in the interpreter`);
  if (process.env['BPFKIT_VERBOSE'] === '1') console.log(faulted.join('\n'));
  assert.ok(faulted.length > 50, `only ${faulted.length} faulted`);
  for (const name of ['stack/write-oob-dw-520', 'map/var-unbounded', 'pkt/data-end-deref', 'cve-2021-3490/and-41-43-64-offset', 'cve-2021-31440/s-straddle-w']) assert.ok(faulted.includes(name), `${name} should fault`);
});

test('soundness fuzz: no program bpfkit accepts faults in the interpreter', () => {
  const seed = Number(process.env['BPFKIT_SEED'] ?? 1);
  const s = fuzzVerifier({ seed, count: 100_000, timeLimitMs: Number(process.env['BPFKIT_FUZZ_MS'] ?? 15_000) });
  console.log(`# seed ${seed}: ${s.generated} programs in ${(s.ms / 1000).toFixed(1)} s: ${s.accepted} accepted (${s.ran} ran, ${s.notRunnable} not runnable in userspace, ${s.budget} hit the budget), ${s.rejected} rejected; ${s.faults.length} faults, ${s.crashes} crashes`);
  assert.ok(s.generated > 100, 'the fuzz generated too few programs to mean anything');
  assert.deepEqual(s.faults, []);
});
