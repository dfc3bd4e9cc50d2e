// State pruning against the kernel's: on the committed pruning fixtures (big-program shapes),
// bpfkit processes as many instructions as the running kernel's verifier, within 10%.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadObject } from '../../src/elf/object-loader.js';
import { verifyProgram } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { kernelStats, parseStats, pruneFixturesDir } from './prune-oracle.js';
import { test } from 'node:test';

/** bpfkit / kernel processed instructions allowed (the goal: within 10%). */
const TOLERANCE = 0.1;

const fixtures = readdirSync(pruneFixturesDir)
  .filter((f) => f.endsWith('.o'))
  .sort();

test('pruning fixtures: BPF_LOG_STATS lines parse', () => {
  const log = 'processed 8088 insns (limit 1000000) max_states_per_insn 4 total_states 519 peak_states 519 mark_read 0\nverification time 6012 usec\nstack depth 64\n';
  assert.deepEqual(parseStats(log), { processedInsns: 8088, maxStatesPerInsn: 4, totalStates: 519, peakStates: 519, timeUsec: 6012 });
  assert.equal(parseStats('processed 1 insns (limit 1000000)'), undefined);
  assert.ok(fixtures.length > 0, `no objects in ${pruneFixturesDir}`);
});

for (const file of fixtures) {
  const spec = loadObject(new Uint8Array(readFileSync(path.join(pruneFixturesDir, file))), { objectName: file.replace(/\.o$/, '') });
  for (const prog of spec.programs) {
    kernelTest(`pruning: ${file}:${prog.name} processes as many instructions as the kernel (within ${TOLERANCE * 100}%)`, (sys) => {
      const k = kernelStats(sys, spec, prog.name);
      assert.ok(!('error' in k), `the kernel refused ${prog.name}: ${'error' in k ? k.error : ''}`);
      const r = verifyProgram(prog, spec, { logLevel: 0 });
      assert.equal(r.verdict, 'accept', r.message);
      const ratio = r.processedInsns / k.processedInsns;
      console.log(`# ${file}:${prog.name}: kernel ${k.processedInsns} insns ${k.totalStates} states, bpfkit ${r.processedInsns} insns ${r.totalStates} states (${ratio.toFixed(2)}x)`);
      // More: pruning lost (the big programs' 10x); fewer: pruning the kernel does not do (unsound?).
      assert.ok(Math.abs(ratio - 1) <= TOLERANCE, `bpfkit processed ${r.processedInsns} instructions, the kernel ${k.processedInsns} (${ratio.toFixed(2)}x)`);
    });
  }
}
