// Bad BTF never crashes the generator: bytes of the .BTF type section of every fixture and the
// gen_* objects are mutated; generateTypes either succeeds (and every codec it implies decodes
// zeros and re-encodes them) or throws a BpfkitError — no TypeError, RangeError or hang.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { test } from 'node:test';
import { BpfkitError, buildSchema, generateTypes, layoutCodec, loadObject, parseElf, varOffsets } from '../../src/index.js';
import { listFixtures } from '../support/fixtures.js';
import { iterationSeed, prng } from '../support/mutate.js';
import { fixtureBytes } from './support.js';

const ITERATIONS = Number(process.env.BPFKIT_FUZZ_ITERS ?? 1500);
const SEED = Number(process.env.BPFKIT_FUZZ_SEED ?? 0x6e6e_0012);

test(`generateTypes on ${ITERATIONS} objects with mutated BTF: only BpfkitError escapes`, (t) => {
  const corpus = [
    ...listFixtures().map((p) => ({ name: basename(p), bytes: new Uint8Array(readFileSync(p)) })),
    { name: 'gen_types.o', bytes: fixtureBytes('gen_types') },
    { name: 'gen_config.o', bytes: fixtureBytes('gen_config') },
  ].flatMap((c) => {
    const btf = parseElf(c.bytes).sections.find((s) => s.name === '.BTF');
    return btf && btf.size > 24 ? [{ ...c, start: btf.offset + 24, size: btf.size - 24 }] : [];
  });
  assert.ok(corpus.length >= 10, `${corpus.length} objects with BTF`);
  let generated = 0;
  let refused = 0;
  let codecs = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    const c = corpus[i % corpus.length]!;
    const rng = prng(iterationSeed(SEED, i));
    const bytes = c.bytes.slice();
    const flips = 1 + rng.int(4);
    for (let f = 0; f < flips; f++) bytes[c.start + rng.int(c.size)] = rng.chance(0.5) ? rng.int(256) : bytes[c.start + rng.int(c.size)]! ^ (1 << rng.int(8));
    const started = performance.now();
    try {
      const text = generateTypes(bytes, { object: c.name });
      assert.match(text, /export async function open</);
      const spec = loadObject(bytes);
      const { schema } = buildSchema(spec, c.name, 'obj', varOffsets(bytes));
      for (const l of [...schema.maps.flatMap((m) => [m.key, m.value]), ...schema.sections.flatMap((s) => s.vars.map((v) => v.layout))]) {
        if (!l) continue;
        const codec = layoutCodec(l, spec.byteOrder === 'le');
        if (codec.size > 1 << 20) continue;
        const zeros = new Uint8Array(codec.size);
        assert.deepEqual(codec.encode(codec.decode(zeros)), zeros, `${c.name} iteration ${i}: zeros round-trip`);
        codecs++;
      }
      generated++;
    } catch (err) {
      if (!(err instanceof BpfkitError)) throw new Error(`${c.name} iteration ${i} (seed ${SEED}): ${(err as Error).name}: ${(err as Error).message}`, { cause: err });
      refused++;
    }
    assert.ok(performance.now() - started < 2000, `${c.name} iteration ${i}: took ${Math.round(performance.now() - started)} ms`);
  }
  t.diagnostic(`${ITERATIONS} mutated objects: ${generated} generated (${codecs} codecs round-tripped zeros), ${refused} refused with a BpfkitError`);
});
