// The program side of MapOps (helper calls: lookup + store through the pointer, update with each flag, delete) vs the same helpers in BPF programs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { mapTypeName } from '../../src/isa/map-types.js';
import { kernelTest } from '../kernel/harness.js';

const TYPES = [BpfMapType.HASH, BpfMapType.ARRAY, BpfMapType.PERCPU_HASH, BpfMapType.PERCPU_ARRAY, BpfMapType.LRU_HASH, BpfMapType.LRU_PERCPU_HASH];

kernelTest('differential: map helpers called from BPF programs (pinned to one CPU) and MapOps\' program side leave the same values on every CPU', () => {
  let ops = 0;
  for (const cpu of [0, 1]) {
    const specs = TYPES.flatMap((type, i) => [8, 64].map((max) => `${type}:${max}:${500 + i * 7 + max + cpu}`));
    const out = execFileSync('taskset', ['-c', String(cpu), process.execPath, '--import', 'tsx', 'test/maps/prog-ops-child.ts', '250', ...specs], {
      encoding: 'utf8',
      env: { ...process.env, BPFKIT_CPU: String(cpu) },
    });
    const r = JSON.parse(out) as { ops: number; mismatches: string[] };
    assert.deepEqual(r.mismatches, [], `on CPU ${cpu}`);
    ops += r.ops;
  }
  process.stdout.write(`# program-side map ops: ${ops} helper calls under BPF_PROG_TEST_RUN (${TYPES.map(mapTypeName).join(', ')}; CPU 0 and 1) matched MapOps: return codes, stores through lookup pointers, every CPU's slot\n`);
});
