// Helpers on hostile arguments: random calls with random registers on every program type never
// crash — each run ends with a result or a typed BpfkitError (a memory fault, a bad map pointer).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alu64, call, exit, type Instruction, ld, program, r1, r2, r3, r4, r5, r6, r10 } from '../../src/isa/index.js';
import { BpfkitError } from '../../src/errors.js';
import { createHelperEnv, createHelpers } from '../../src/ctx/helpers/index.js';
import { PROGRAM_TYPE_OPS } from '../../src/ctx/registry.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace, run } from '../../src/vm/index.js';
import { rng } from '../vm/oracle.js';
import { frame } from './oracle.js';

test('random helper calls with random arguments end in a result or a typed error, on every program type', () => {
  const rand = rng(42);
  let runs = 0;
  let faults = 0;
  for (const ops of PROGRAM_TYPE_OPS) {
    const space = new AddressSpace();
    const hash = createMap({ name: 'h', type: BpfMapType.HASH, keySize: 4, valueSize: 8, maxEntries: 8, flags: 0 }, { space, cpus: 1 });
    const env = createHelperEnv({ mapByAddress: (a) => (a === hash.address ? hash : undefined) });
    const table = createHelpers(env, ops);
    const ids = [...table.keys()];
    const data = frame([0, 0, 0, 0, 0, 0], 0x0800, 60);
    for (let i = 0; i < 400; i++) {
      const id = ids[rand() % ids.length]!;
      const arg = (reg: typeof r2): Instruction[] => {
        switch (rand() % 6) {
          case 0:
            return [alu64.mov.reg(reg, r10), alu64.add.imm(reg, -((rand() % 64) + 1) * 8)];
          case 1:
            return [ld.map_fd(reg, 0)];
          case 2:
            return [alu64.mov.reg(reg, r6)];
          case 3:
            return [ld.imm64(reg, (BigInt(rand()) << 32n) | BigInt(rand()))];
          default:
            return [alu64.mov.imm(reg, (rand() % 80) - 8)];
        }
      };
      const insns = program(
        alu64.mov.reg(r6, r1),
        ...[r2, r3, r4, r5].flatMap((reg) => arg(reg)),
        alu64.mov.reg(r1, r6),
        call.helper(id),
        exit(),
      );
      runs++;
      try {
        run(insns, undefined, data, { programType: ops, space, env, helpers: table, resolve: () => ({ lo: hash.address | 0, hi: Math.floor(hash.address / 4294967296) }) });
      } catch (err) {
        if (!(err instanceof BpfkitError)) assert.fail(`${ops.name} helper ${id}: ${String(err)}`);
        faults++;
      }
    }
  }
  process.stdout.write(`# helper fuzz: ${runs} runs, ${faults} ended in typed errors\n`);
});
