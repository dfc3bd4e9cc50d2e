// Which helper and kfunc calls of a program the userspace runtime does not model, found before anything runs.

import { createHelperEnv } from '../ctx/helpers/env.js';
import { createHelpers, helperLabel } from '../ctx/helpers/index.js';
import { kfuncNames, kfuncReason } from '../ctx/kfuncs/index.js';
import { programTypeOps } from '../ctx/registry.js';
import type { ProgramSpec } from '../elf/object-spec.js';
import { slotOffsets } from '../isa/instruction.js';
import { PseudoCall } from '../isa/opcodes.js';
import type { UnmodelledCall } from '../vm/program.js';

const CALL = 0x85;
let implemented: ReadonlySet<string> | undefined;

/**
 * The calls in `program` of helpers and kfuncs the userspace runtime does not model, each with
 * its pc (slot index), name and reason, in program order — what `bpfkit inspect` warns about.
 * A run that reaches one faults there (UnmodelledCallError); every other path runs. Empty for a
 * program type the runtime does not run at all (that is refused as a whole).
 */
export function unmodelledCalls(program: ProgramSpec): UnmodelledCall[] {
  const ops = programTypeOps(program.type);
  if (!ops) return [];
  const helpers = createHelpers(createHelperEnv(), ops);
  implemented ??= new Set(kfuncNames());
  const slots = slotOffsets(program.instructions);
  const out: UnmodelledCall[] = [];
  program.instructions.forEach((insn, i) => {
    if (insn.code !== CALL) return;
    const pc = slots[i]!;
    if (insn.src === PseudoCall.KFUNC_CALL) {
      const name = insn.reference ?? `kfunc#${insn.imm}`;
      if (!implemented!.has(name)) out.push({ pc, kind: 'kfunc', name, reason: kfuncReason(name) });
    } else if (insn.src === 0) {
      const reason = helpers.refusal(insn.imm);
      if (reason !== undefined) out.push({ pc, kind: 'helper', name: helperLabel(insn.imm), reason, helperId: insn.imm });
    }
  });
  return out;
}
