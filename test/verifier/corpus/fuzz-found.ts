// Corpus: programs the fuzzers found where bpfkit and the kernel disagreed, kept as regressions
// (regenerated from their seed and index, so the generator must stay stable).
import { randomBoundsProgram, randomPacketBoundsProgram } from '../random-bounds.js';
import type { CorpusProgram } from './corpus-program.js';

/** [seed, index, what the disagreement was when found]. */
const FOUND: [number, number, string][] = [
  [3, 3, 'bpfkit stricter: stack pointer + a value the kernel bounds'],
  [3, 273, 'bpfkit stricter: lost the map value pointer'],
  [3, 406, 'bpfkit stricter: variable-offset stack read'],
  [3, 509, 'bpfkit LOOSER: `if w8 s<= w9` path after JMP32 bounds; the kernel sees a possibly negative offset'],
  [3, 657, 'bpfkit stricter: mul by INT_MIN then movsx'],
  [3, 1069, 'bpfkit stricter: min value bound'],
  [3, 1896, 'bpfkit stricter: unbounded access the kernel bounds'],
];

/** Found by the packet flavour: [seed, index, what]. */
const FOUND_PACKET: [number, number, string][] = [
  [4, 517, 'bpfkit stricter: a load at -1 from a packet pointer moved by a checked offset'],
];

/** The fuzz-found regressions. */
export function fuzzFoundPrograms(): CorpusProgram[] {
  const intent = (why: string) => (why.includes('LOOSER') ? 'reject' : 'accept');
  return [
    ...FOUND.map(([seed, index, why]): CorpusProgram => {
      const p = randomBoundsProgram(seed, index);
      // A looser verdict the fuzz once found is a soundness regression: treated like a CVE shape.
      return { name: `fuzz/bounds-${seed}-${index}`, rule: `random number tracking (${why})`, type: p.type, insns: p.insns, intent: intent(why), ...(why.includes('LOOSER') ? { cve: 'fuzz-found soundness bug' } : {}) };
    }),
    ...FOUND_PACKET.map(([seed, index, why]): CorpusProgram => {
      const p = randomPacketBoundsProgram(seed, index);
      return { name: `fuzz/packet-bounds-${seed}-${index}`, rule: `random packet offsets (${why})`, type: p.type, insns: p.insns, intent: intent(why) };
    }),
  ];
}
