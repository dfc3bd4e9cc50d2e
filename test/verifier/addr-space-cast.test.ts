// addr_space_cast (the arena pointer cast) against the kernel's verifier: without an arena the kernel refuses it
// with check_alu_op's messages (this 6.18 build refuses to create arena maps at all, EPERM even as root, so no
// program here can have one); bpfkit gives the same verdict and message for each encoding, map and program type.
import assert from 'node:assert/strict';
import { alu64, exit, ld, program, type Instruction } from '../../src/isa/index.js';
import { BpfMapType, BpfProgType } from '../../src/isa/uapi.generated.js';
import type { MapDef } from '../../src/maps/map-ops.js';
import { verifyInstructions } from '../../src/verifier/verify.js';
import { kernelTest } from '../kernel/harness.js';
import { kernelVerifyFresh } from './kernel-oracle.js';

const MAPS: ReadonlyMap<string, MapDef> = new Map([['hash', { name: 'hash', type: BpfMapType.HASH, keySize: 8, valueSize: 16, maxEntries: 4, flags: 0 }]]);

kernelTest('addr_space_cast without an arena: the kernel\'s verdict and message for each encoding', (sys) => {
  const cases: [string, Instruction[]][] = [];
  // (Other imm values are invalid encodings: bpfkit's decoder refuses them, test/isa covers that.)
  for (const [dstAs, srcAs] of [[0, 1], [1, 0]] as const) {
    for (const [dst, src] of [[1, 1], [0, 1], [3, 1], [1, 10]] as const) {
      const cast = alu64.addr_space_cast(dst, src, dstAs, srcAs);
      const what = `r${dst} = addr_space_cast(r${src}, ${dstAs}, ${srcAs})`;
      cases.push([what, program(alu64.mov.imm(0, 0), cast, exit())]);
      cases.push([`${what} with a hash map`, program(ld.map_fd(2, 'hash'), alu64.mov.imm(0, 0), cast, exit())]);
    }
  }
  const diffs: string[] = [];
  let compared = 0;
  for (const type of [BpfProgType.XDP, BpfProgType.SCHED_CLS, BpfProgType.SOCKET_FILTER]) {
    for (const [name, insns] of cases) {
      const k = kernelVerifyFresh(sys, type, insns, MAPS);
      const ours = verifyInstructions(insns, { programType: type, maps: MAPS });
      compared++;
      if (k.verdict !== ours.verdict || k.message !== ours.message?.trim()) diffs.push(`type ${type} ${name}: kernel ${k.verdict} ${k.message}, bpfkit ${ours.verdict} ${ours.message}`);
    }
  }
  process.stdout.write(`# addr_space_cast: ${compared} programs, verdict and message equal the kernel's\n`);
  assert.deepEqual(diffs, []);
});
