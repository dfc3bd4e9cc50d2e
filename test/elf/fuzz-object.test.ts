// Fuzzes loadObject with mutated fixtures and xdp-tools objects: only BpfkitError escapes, nothing hangs or balloons.
//
// BPFKIT_FUZZ_ITERS sets the iteration count (default 4000, spread round-robin over the corpus),
// BPFKIT_FUZZ_SEED the seed. Iteration i of seed S is rebuilt alone by `fuzzInput(corpus, S, i)`;
// a failing input is also written to a temp file whose path is in the failure message. The long
// run is `npm run fuzz -- --iters 1000000 --seed N`.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';

import { ObjectError, parseElf } from '../../src/elf/index.js';
import { loadObject } from '../../src/elf/object-loader.js';
import { encode } from '../../src/isa/encode.js';

import { listFixtures, readFixture, xdpToolsObjects } from '../support/fixtures.js';
import { fuzzInput, loadAndWalk, mutate, prng, type CorpusEntry } from '../support/mutate.js';

const ITERATIONS = Number(process.env.BPFKIT_FUZZ_ITERS ?? 4000);
const SEED = Number(process.env.BPFKIT_FUZZ_SEED ?? 0xb9f0_0b1e);
/** A single load + walk taking this long counts as a hang. */
const SLOW_MS = 2000;
/** RSS may grow this much over the run (a mutated size turned into a giant allocation would blow it). */
const RSS_BUDGET = 256 * 1024 * 1024;

function corpus(): CorpusEntry[] {
  const paths = [...listFixtures(), ...xdpToolsObjects()];
  return paths.map((p) => ({ name: basename(p), bytes: new Uint8Array(readFileSync(p)) }));
}

const run = loadAndWalk;

describe('fuzz loadObject', () => {
  const entries = corpus();

  it('loads and walks every unmutated corpus object', () => {
    assert.ok(entries.length >= 13, `corpus has ${entries.length} objects`);
    if (xdpToolsObjects().length === 0) assert.fail(`xdp-tools objects missing from /usr/lib/x86_64-linux-gnu/bpf (apt install xdp-tools)`);
    for (const e of entries) assert.equal(run(e.bytes), 'ok', e.name);
  });

  it('inputs are a pure function of (seed, iteration)', () => {
    const a = fuzzInput(entries, 7, 123);
    const b = fuzzInput(entries, 7, 123);
    assert.deepEqual(a.bytes, b.bytes);
    assert.deepEqual(a.log, b.log);
    assert.notDeepEqual(fuzzInput(entries, 8, 123).log, a.log);
    // Mutations never write into the corpus.
    const before = entries[0]!.bytes.slice();
    for (let i = 0; i < 200; i++) mutate(prng(i), entries[0]!.bytes);
    assert.deepEqual(entries[0]!.bytes, before);
  });

  it(`${ITERATIONS} mutated objects, seed ${SEED}: only BpfkitError escapes`, { timeout: Math.max(120_000, ITERATIONS * 30) }, (t) => {
    const outcomes = new Map<string, number>();
    let slowest = { ms: 0, iteration: -1 };
    const rss0 = process.memoryUsage().rss;
    let rssPeak = rss0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = fuzzInput(entries, SEED, i);
      const started = performance.now();
      let outcome: string;
      try {
        outcome = run(input.bytes);
      } catch (e) {
        const path = join(tmpdir(), `bpfkit-fuzz-object-${SEED}-${i}.o`);
        writeFileSync(path, input.bytes);
        assert.fail(
          `iteration ${i} (seed ${SEED}, from ${input.base}: ${input.log.join('; ')}) threw ` +
            `${e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e)}\ninput saved to ${path}`,
        );
      }
      const took = performance.now() - started;
      if (took > slowest.ms) slowest = { ms: took, iteration: i };
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (i % 250 === 0) rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    const summary = [...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
    t.diagnostic(`outcomes: ${summary}; slowest ${slowest.ms.toFixed(1)} ms (iteration ${slowest.iteration}); rss +${((rssPeak - rss0) / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(slowest.ms < SLOW_MS, `iteration ${slowest.iteration} took ${slowest.ms.toFixed(0)} ms (hang guard ${SLOW_MS} ms)`);
    assert.ok(rssPeak - rss0 < RSS_BUDGET, `rss grew by ${((rssPeak - rss0) / 2 ** 20).toFixed(0)} MiB`);
    // The mutations must neither be too tame (everything loads) nor too wild (nothing does), and
    // must reach past the ELF reader into BTF, instructions and the loader itself.
    const count = (code: string): number => outcomes.get(code) ?? 0;
    assert.ok(count('ok') > ITERATIONS / 20, `ok ${count('ok')}`);
    for (const code of ['ERR_ELF_MALFORMED', 'ERR_BTF_MALFORMED', 'ERR_INVALID_INSTRUCTION', 'ERR_OBJECT_INVALID']) {
      assert.ok(count(code) > 0, `no ${code} in ${summary}`);
    }
  });
});

// Regressions: inputs the fuzzer found, rebuilt by hand so they do not depend on the corpus.
describe('fuzz regressions', () => {
  /** subprogs_globals.o with the addend (lddw imm) of its relocation against `sym` set so the load offset is `offset`. */
  async function globalsWithOffset(sym: string, offset: (size: number, value: number) => number): Promise<{ bytes: Uint8Array; size: number }> {
    const bytes = (await readFixture('subprogs_globals')).slice();
    const elf = parseElf(bytes);
    for (const rs of elf.relocations) {
      const target = rs.target;
      if (!target || target.type !== 1 || (target.flags & 4n) === 0n) continue;
      for (const rel of rs.entries) {
        const s = elf.symbols[rel.symbol]!;
        if (s.name !== sym) continue;
        const size = elf.sections[s.shndx]!.size;
        new DataView(bytes.buffer).setInt32(target.offset + Number(rel.offset) + 4, offset(size, Number(s.value)) - Number(s.value), true);
        return { bytes, size };
      }
    }
    throw new Error(`no relocation against ${sym}`);
  }

  // Found as seed 1 iteration 13118 (xdpdump_bpf.o, two bit flips in a symbol value): the loader
  // made an lddw with imm2 = 2^37, so the loaded program threw InvalidOperandError from encode().
  it('an lddw into global data beyond the section is an ObjectError, not an unencodable program', async () => {
    for (const at of [(size: number) => size, () => 0x7fffffff, () => -8]) {
      const { bytes } = await globalsWithOffset('bss_bytes', at);
      assert.throws(() => loadObject(bytes), (e: unknown) => e instanceof ObjectError && /offset -?\d+ is outside global data "\.bss" \(\d+ bytes\)/.test(e.message), String(at));
    }
    // The last byte of the section is still a valid target, and the program encodes.
    const { bytes, size } = await globalsWithOffset('bss_bytes', (n) => n - 1);
    const spec = loadObject(bytes);
    const loads = spec.programs.flatMap((p) => p.instructions).filter((i) => i.reference === '.bss');
    assert.ok(loads.some((i) => i.imm2 === size - 1));
    for (const p of spec.programs) encode(p.instructions);
  });

  // Found as seed 42 iteration 89188: a NOBITS .bss whose sh_size was set to 2^36 + 24 (NOBITS
  // sizes are not bounded by the file) made dataSectionMap throw RangeError from new Uint8Array.
  it('a .bss larger than the kernel allows a map value is an ObjectError', async () => {
    const bytes = (await readFixture('subprogs_globals')).slice();
    const elf = parseElf(bytes);
    const bss = elf.sections.find((s) => s.name === '.bss')!;
    for (const size of [2n ** 36n + 24n, 0x80000000n]) {
      new DataView(bytes.buffer).setBigUint64(elf.header.shoff + bss.index * 64 + 32, size, true);
      assert.throws(() => loadObject(bytes), (e: unknown) => e instanceof ObjectError && e.message.startsWith('section ".bss": global data of') && e.message.includes(String(size)));
    }
  });

  /** core_kfunc.o with the size of BTF type `int` (what LINUX_KERNEL_VERSION __kconfig is declared as) set to `size`. */
  async function kconfigIntOfSize(size: number): Promise<Uint8Array> {
    const bytes = (await readFixture('core_kfunc')).slice();
    const spec = loadObject(bytes);
    const btf = spec.btf!;
    const ext = spec.externs.find((e) => e.name === 'LINUX_KERNEL_VERSION')!;
    const int = btf.skipTypedefs((btf.typeById(ext.btfTypeId!) as { type: number }).type);
    assert.equal(int.kind, 'int');
    const btfSec = parseElf(bytes).sectionByName('.BTF')!;
    new DataView(bytes.buffer).setUint32(btfSec.offset + btf.typeOffset(int.id) + 8, size, true);
    return bytes;
  }

  // Found as seed 7 iteration 285769: an `int` of size 0 gave the kconfig extern alignment 0,
  // so its offset was NaN (0 / 0) and the program's lddw carried imm2 NaN, which encode() refused.
  it('a kconfig extern of a zero-sized type is an ObjectError', async () => {
    const bytes = await kconfigIntOfSize(0);
    assert.throws(() => loadObject(bytes), (e: unknown) => e instanceof ObjectError && /kconfig extern "\w+": its BTF type \d+ has size 0 and alignment 0/.test(e.message));
  });

  // Found as seed 7 iteration 113961: an `int` of size 0xffffffff made a 4 GiB .kconfig value
  // (RangeError from new Uint8Array in collectExterns).
  it('kconfig externs larger than the kernel allows a map value are an ObjectError', async () => {
    const bytes = await kconfigIntOfSize(0xffffffff);
    assert.throws(() => loadObject(bytes), (e: unknown) => e instanceof ObjectError && /kconfig externs take \d+ bytes, more than the largest map value/.test(e.message));
  });
});
