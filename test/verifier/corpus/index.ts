// The whole verifier corpus: every family, names checked unique.
import { alignmentPrograms } from './alignment.js';
import { cfgPrograms, callPrograms, loopPrograms } from './control-flow.js';
import type { CorpusProgram } from './corpus-program.js';
import { ctxPrograms } from './ctx.js';
import { cvePrograms } from './cve.js';
import { fuzzFoundPrograms } from './fuzz-found.js';
import { helperPrograms, mapPrograms, ringbufPrograms } from './maps.js';
import { miscPrograms } from './misc.js';
import { packetPrograms } from './packet.js';
import { pointerAluPrograms } from './pointer-alu.js';
import { divisionPrograms, registerPrograms } from './registers.js';
import { stackPrograms } from './stack.js';

export * from './corpus-program.js';

let cached: readonly CorpusProgram[] | undefined;

/** Every corpus program, in a stable order. Throws if two share a name. */
export function corpus(): readonly CorpusProgram[] {
  if (cached) return cached;
  const all = [
    ...registerPrograms(), ...divisionPrograms(), ...pointerAluPrograms(), ...stackPrograms(), ...ctxPrograms(), ...packetPrograms(),
    ...mapPrograms(), ...helperPrograms(), ...ringbufPrograms(), ...cfgPrograms(), ...loopPrograms(), ...callPrograms(), ...alignmentPrograms(), ...miscPrograms(), ...cvePrograms(),
    ...fuzzFoundPrograms(),
  ];
  const seen = new Set<string>();
  for (const p of all) {
    if (seen.has(p.name)) throw new Error(`corpus: duplicate program name ${p.name}`);
    seen.add(p.name);
  }
  cached = all;
  return all;
}
