// Global variables through generated bindings: .rodata set before load changes the program's
// verdict on both backends (userspace run, kernel BPF_PROG_TEST_RUN), is frozen after load with a
// typed error; .data/.bss read and write the live maps after load.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrozenGlobalError, GenValueError, HandleStateError } from '../../src/index.js';
import type { KernelProgram } from '../../src/kernel/index.js';
import type { UserspaceProgram } from '../../src/runtime/userspace-program.js';
import { kernelTest } from '../kernel/harness.js';
import type { CountingSys } from '../kernel/harness.js';
import { generatedFixture, type AnyHandle } from './support.js';

const XDP = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3 } as const;
const packet = new Uint8Array(64).fill(0xab);

/** One run of the handle's program, on the backend it was loaded on. */
function run(h: AnyHandle): number {
  const p = h.programs.xdp_config;
  return h.backend === 'kernel' ? (p as KernelProgram).testRun({ dataIn: packet }).retval : (p as UserspaceProgram).testRun({ data: packet }).retval;
}

interface Case {
  readonly what: string;
  readonly set: (h: AnyHandle) => void;
  readonly verdict: number;
}

const cases: Case[] = [
  { what: 'the object as compiled', set: () => {}, verdict: XDP.PASS },
  { what: 'rodata.cfg.verdict = XDP_TX', set: (h) => void (h.rodata!.cfg = { verdict: XDP.TX, min_len: 0, label: 'tx' }), verdict: XDP.TX },
  { what: 'rodata.drop_all = 1', set: (h) => void (h.rodata!.drop_all = 1), verdict: XDP.DROP },
  { what: 'rodata.cfg.min_len = 100 (longer than the packet)', set: (h) => void (h.rodata!.cfg = { verdict: XDP.PASS, min_len: 100, label: 'min' }), verdict: XDP.ABORTED },
  { what: 'rodata.cfg.min_len = 64 (the packet length)', set: (h) => void (h.rodata!.cfg = { verdict: XDP.TX, min_len: 64, label: 'min' }), verdict: XDP.TX },
];

async function checkBackend(backend: 'user' | 'kernel', sys?: CountingSys): Promise<void> {
  const { mod, bytes } = await generatedFixture('gen_config');
  for (const c of cases) {
    const h = await mod.open(bytes, { backend });
    try {
      assert.deepEqual(h.rodata!.cfg, { verdict: XDP.PASS, min_len: 0, label: 'default' }, 'initial .rodata from the object');
      assert.equal(h.data!.last_len, 7, 'initial .data from the object');
      c.set(h);
      assert.throws(() => h.maps, HandleStateError, 'maps before load');
      h.load(sys ? { sys } : undefined);
      assert.equal(run(h), c.verdict, `${backend}: ${c.what}`);
      assert.equal(run(h), c.verdict, `${backend}: ${c.what} (second run)`);
      // After load: .rodata is frozen (a typed error), .bss/.data are the live maps.
      assert.throws(() => (h.rodata!.drop_all = 0), FrozenGlobalError);
      assert.throws(() => (h.rodata!.cfg = { verdict: XDP.PASS, min_len: 0, label: 'late' }), (e: unknown) => e instanceof FrozenGlobalError && e.code === 'ERR_GEN_FROZEN' && e.variable === 'cfg');
      assert.equal(h.bss!.hits, 2n, 'two runs counted in .bss');
      assert.equal(h.data!.last_len, 64);
      h.bss!.bonus = 100; // .bss and .data variables stay writable after load (a skeleton's mmap)
      run(h);
      assert.equal(h.data!.last_len, 164, `${backend}: a .bss write after load reaches the program`);
      assert.equal(h.bss!.hits, 3n);
      h.bss!.hits = 40n;
      run(h);
      assert.equal(h.bss!.hits, 41n);
    } finally {
      h.close();
    }
  }
}

describe('globals (gen_config.c)', () => {
  it('userspace: .rodata set before load decides the verdict; frozen after; .data/.bss live', async () => {
    await checkBackend('user');
  });

  kernelTest('kernel: .rodata set before load decides the verdict; frozen after; .data/.bss live', async (sys) => {
    await checkBackend('kernel', sys);
  });

  it('values that do not fit the C type are typed errors naming the variable', async () => {
    const { mod, bytes } = await generatedFixture('gen_config');
    const h = await mod.open(bytes, { backend: 'user' });
    assert.throws(() => (h.rodata!.cfg = { verdict: 1, min_len: 0, label: 'longer than eight' }), (e: unknown) => e instanceof GenValueError && /cfg\.label/.test(e.message) && /char\[8\]/.test(e.message));
    assert.throws(() => (h.rodata!.cfg = { verdict: 'pass' }), (e: unknown) => e instanceof GenValueError && /cfg\.verdict: expected an integer/.test(e.message));
    assert.throws(() => (h.rodata!.cfg = { verdict: 1, nope: 2 }), (e: unknown) => e instanceof GenValueError && /no member "nope"/.test(e.message));
    assert.throws(() => ((h.rodata as Record<string, unknown>).no_such_var = 1), TypeError, 'sections are sealed');
    // An assignment replaces the whole variable: members left out are zero, as in C.
    h.rodata!.cfg = { verdict: 3 };
    assert.deepEqual(h.rodata!.cfg, { verdict: 3, min_len: 0, label: '' });
    h.close();
    assert.throws(() => h.rodata!.cfg, HandleStateError);
    assert.throws(() => h.load(), HandleStateError);
  });
});
