// Long soundness fuzz of bpfkit's verifier: mutated corpus programs, every accepted one run in the
// checked interpreter on random packets and maps. A memory fault is a verifier bug: the program is
// printed. Usage: node --import tsx scripts/verifier-fuzz.ts [--count N] [--seed S] [--seconds T]
import { parseArgs } from 'node:util';
import { fuzzVerifier } from '../test/verifier/fuzz-run.js';

const { values } = parseArgs({ options: { count: { type: 'string', default: '100000' }, seed: { type: 'string', default: String(Date.now() % 1e9) }, seconds: { type: 'string' } } });
const count = Number(values.count);
const seed = Number(values.seed);
const timeLimitMs = values.seconds === undefined ? undefined : Number(values.seconds) * 1000;
console.log(`verifier fuzz: seed ${seed}, ${count} programs${timeLimitMs ? `, at most ${values.seconds} s` : ''} (reproduce: --seed ${seed})`);
const s = fuzzVerifier({
  seed,
  count,
  ...(timeLimitMs === undefined ? {} : { timeLimitMs }),
  progressEvery: 5000,
  onProgress: (p) => console.log(`  ${p.generated} programs, ${p.accepted} accepted, ${p.faults.length} faults, ${(p.generated / (p.ms / 1000)).toFixed(0)}/s`),
  onFault: (report) => console.log(report),
});
console.log(`done: ${s.generated} programs in ${(s.ms / 1000).toFixed(1)} s: ${s.accepted} accepted (${s.ran} ran, ${s.notRunnable} not runnable, ${s.budget} budget), ${s.rejected} rejected; ${s.faults.length} faults, ${s.crashes} crashes`);
process.exitCode = s.faults.length > 0 ? 1 : 0;
