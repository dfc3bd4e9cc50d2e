// The data plane's fast paths against the slow ones: frame extents, inlined array lookups, the repeat loop in Wasm, XDP delivery.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/object-loader.js';
import { alu64, call, exit, jmp, label, ldx, program, r0, r1, r2, r3, r6, r7, r10, st, stx } from '../../src/isa/index.js';
import { BpfFuncId } from '../../src/isa/uapi.generated.js';
import { analyze } from '../../src/jit/cfg.js';
import { compileProgram } from '../../src/jit/compile.js';
import { frameExtent } from '../../src/jit/stack-extent.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { builtinHelpers } from '../../src/vm/helpers.js';
import { prepareProgram } from '../../src/vm/program.js';
import { STACK_SIZE } from '../../src/vm/interpreter.js';
import { BudgetExceeded } from '../../src/vm/errors.js';
import { buildUdp } from '../../src/packet/index.js';
import { compileBpf } from '../support/clang.js';
import { assertSameRuns } from './differential.js';

const obj = loadObject(compileBpf(join(import.meta.dirname, 'c/dataplane.c')), { objectName: 'dataplane' });
const extentOf = (insns: Parameters<typeof prepareProgram>[0]): number => {
  const p = prepareProgram(insns, { helpers: builtinHelpers() });
  return frameExtent(p, analyze(p));
};

test('frame extent: bytes below r10 a run can touch, the whole frame when it cannot be shown', () => {
  assert.equal(extentOf(program(alu64.mov.imm(r0, 2), exit())), 0);
  assert.equal(extentOf(program(st.dw(r10, -16, 1), ldx.w(r0, r10, -12), exit())), 16);
  // A pointer to the stack passed to a helper: the helper may touch it and above.
  assert.equal(extentOf(program(alu64.mov.reg(r2, r10), alu64.add.imm(r2, -44), alu64.mov.imm(r1, 0), call.helper(BpfFuncId.get_prandom_u32), exit())), 48);
  // The same pointer through a branch: both paths agree, so the offset is still known.
  assert.equal(extentOf(program(alu64.mov.reg(r6, r10), jmp.jeq.imm(r1, 0, 'a'), alu64.add.imm(r6, -8), jmp.ja('b'), label('a'), alu64.add.imm(r6, -8), label('b'), st.b(r6, -1, 7), alu64.mov.imm(r0, 0), exit())), 16);
  // Paths disagreeing on the offset, a pointer stored to memory, a variable offset: the whole frame.
  assert.equal(extentOf(program(alu64.mov.reg(r6, r10), jmp.jeq.imm(r1, 0, 'a'), alu64.add.imm(r6, -8), label('a'), st.b(r6, -1, 7), alu64.mov.imm(r0, 0), exit())), STACK_SIZE);
  assert.equal(extentOf(program(alu64.mov.reg(r2, r10), stx.dw(r10, -8, r2), alu64.mov.imm(r0, 0), exit())), STACK_SIZE);
  assert.equal(extentOf(program(ldx.w(r3, r1, 0), alu64.mov.reg(r2, r10), alu64.add.reg(r2, r3), st.b(r2, 0, 1), alu64.mov.imm(r0, 0), exit())), STACK_SIZE);
  // A loop walking down the stack: the offset changes every round.
  assert.equal(extentOf(program(alu64.mov.reg(r6, r10), alu64.mov.imm(r7, 0), label('l'), alu64.add.imm(r6, -8), st.dw(r6, 0, 0), alu64.add.imm(r7, 1), jmp.jlt.imm(r7, 4, 'l'), alu64.mov.imm(r0, 0), exit())), STACK_SIZE);
});

test('frame extent: what a run wrote is zero for the next run (JIT == interpreter), also after a run that faulted', () => {
  // Packet byte 0 == 0x5a: writes fp-8 and fp-24, then faults (or not, byte 1). Every run returns fp-8 ^ fp-24 before writing.
  const insns = program(
    ldx.w(r6, r1, 0), ldx.w(r7, r1, 4), alu64.mov.reg(r2, r6), alu64.add.imm(r2, 2), jmp.jgt.reg(r2, r7, 'out'),
    ldx.dw(r0, r10, -8), ldx.dw(r3, r10, -24), alu64.xor.reg(r0, r3),
    ldx.b(r2, r6, 0), jmp.jne.imm(r2, 0x5a, 'out'),
    st.dw(r10, -8, 0x1234), st.dw(r10, -24, 0x77),
    ldx.b(r2, r6, 1), jmp.jne.imm(r2, 1, 'out'), ldx.dw(r0, r2, 0),
    label('out'), exit(),
  );
  const p = prepareProgram(insns, { helpers: builtinHelpers() });
  assert.equal(compileProgram(p).frameExtent, 24);
  const pkt = (a: number, b: number): Uint8Array => new Uint8Array(64).fill(3).fill(a, 0, 1).fill(b, 1, 2);
  const results = assertSameRuns(insns, [pkt(0x5a, 0), pkt(0, 0), pkt(0x5a, 1), pkt(0, 0), pkt(0x5a, 0), pkt(1, 0)]);
  assert.deepEqual(results.map((r) => r.retval ?? r.error?.split(' ')[0]), [0, 0, 'ERR_MEMORY_FAULT', 0, 0, 0]);
});

test('array lookups compiled inline: per-CPU slots, NULL past the end, the same map contents as the interpreter on every CPU', () => {
  const runs = (engine: 'jit' | 'interpreter'): { verdicts: number[]; pcpu: string; shared: string; inlined: number } => {
    using u = loadUserspace(obj, { cpus: 3, engine, programs: ['xdp_count'] });
    const prog = u.program('xdp_count');
    const verdicts: number[] = [];
    for (let i = 0; i < 30; i++) {
      const packet = new Uint8Array(60).fill(0x11);
      packet[0] = i % 6; // 4 and 5 are past max_entries
      verdicts.push(prog.run(packet, { cpu: i % 3 }));
    }
    verdicts.push(prog.testRun({ data: new Uint8Array(60).fill(2), repeat: 1000, cpu: 1 }).retval);
    const dump = (name: string): string => JSON.stringify([...u.bpfMap(name).entriesPerCpu()].map(([k, v]) => [[...k], v.map((x) => [...x])]));
    return { verdicts, pcpu: dump('pcpu'), shared: dump('shared'), inlined: prog.engineKind === 'jit' ? (prog.engine as unknown as { compiled: { inlinedLookups: number } }).compiled.inlinedLookups : 0 };
  };
  const jit = runs('jit');
  const interp = runs('interpreter');
  assert.equal(jit.inlined, 2);
  assert.deepEqual(jit, { ...interp, inlined: 2 });
  assert.ok(jit.verdicts.includes(1) && jit.verdicts.includes(2), 'both NULL and found lookups ran');
  // CPU 1's slot of index 2 counted the 1000 test runs (the packets with index 2 ran on CPU 2).
  const pcpu = JSON.parse(jit.pcpu) as [number[], number[][]][];
  assert.equal(new DataView(new Uint8Array(pcpu[2]![1][1]!).buffer).getBigUint64(0, true), 1000n);
});

test('an array lookup with a replaced helper is not inlined; the replacement runs', () => {
  let calls = 0;
  using u = loadUserspace(obj, { programs: ['xdp_count'], helpers: new Map([[BpfFuncId.map_lookup_elem, () => (calls++, 0)]]) });
  const prog = u.program('xdp_count');
  assert.equal((prog.engine as unknown as { compiled: { inlinedLookups: number } }).compiled.inlinedLookups, 0);
  assert.equal(prog.run(new Uint8Array(60)), 1);
  assert.equal(calls, 2);
});

test('testRun repeats in Wasm: maps accumulate every run, the budget stops a runaway run, JIT == interpreter', () => {
  for (const engine of ['jit', 'interpreter'] as const) {
    using u = loadUserspace(obj, { cpus: 2, engine, programs: ['xdp_count'] });
    const r = u.program('xdp_count').testRun({ data: new Uint8Array(60).fill(3), repeat: 777, cpu: 1 });
    assert.equal(r.retval, 2);
    assert.ok(r.durationNs >= 0);
    const shared = u.bpfMap('shared').get(new Uint8Array([3, 0, 0, 0]))!;
    assert.equal(new DataView(shared.buffer).getBigUint64(0, true), 777n * 2n, engine);
  }
  const spin = loadObject(compileBpf(join(import.meta.dirname, 'c/dataplane.c')));
  using u = loadUserspace(spin, { programs: ['xdp_headroom'], budget: 50 });
  assert.throws(() => u.program('xdp_headroom').testRun({ data: new Uint8Array(60), repeat: 100 }), (e) => e instanceof BudgetExceeded);
});

test('XDP delivery writes only what a packet changes: the page equals a fresh setup after runs that dirtied the headroom', () => {
  for (const engine of ['jit', 'interpreter'] as const) {
    using u = loadUserspace(obj, { engine, programs: ['xdp_headroom'] });
    const prog = u.program('xdp_headroom');
    const ctx = prog.context.instance as unknown as { hardStart: number };
    const page = (): Uint8Array => u.space.memory.bytes.slice(ctx.hardStart, ctx.hardStart + 4096);
    const packets = [
      buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'x'.repeat(200) }),
      buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, payload: 'y' }),
      new Uint8Array(3000).fill(9),
      new Uint8Array(20),
    ];
    packets[0]![0] = 1;
    packets[2]![0] = 1;
    const verdicts: number[] = [];
    for (const p of [...packets, ...packets]) {
      prog.deliver(p, { ifindex: 7, rxQueue: 3 });
      const delivered = page();
      prog.context.setup(p, undefined);
      assert.deepEqual(delivered, page(), `${engine}: page after delivering ${p.length} bytes`);
      prog.deliver(p, { ifindex: 7, rxQueue: 3 });
      verdicts.push(prog.execute(prog.deliver(p, { ifindex: 7, rxQueue: 3 })));
    }
    assert.deepEqual(verdicts, [3, 2, 3, 2, 3, 2, 3, 2], engine);
  }
});

test('hash lookups generated in Wasm (jhash and the bucket walk): 4, 13 (per-CPU) and 40-byte keys, hits, misses, updates and deletes from JavaScript in between', () => {
  const packets = Array.from({ length: 24 }, (_, i) => new Uint8Array(64).map((_, j) => (j * 7 + (i % 8) * 13) & 0xff));
  const runs = (engine: 'jit' | 'interpreter'): { verdicts: number[]; maps: string; inlined: number } => {
    using u = loadUserspace(obj, { cpus: 2, engine, programs: ['xdp_hash'] });
    const prog = u.program('xdp_hash');
    const h4 = u.bpfMap('h4');
    const h13 = u.bpfMap('h13');
    const h40 = u.bpfMap('h40');
    const zero = new Uint8Array(8);
    // Seeded from every other packet shape; h40 holds at most 3 (one slot replaced later).
    for (let i = 0; i < 8; i += 2) {
      h4.set(packets[i]!.slice(0, 4), zero);
      h13.set(packets[i]!.slice(0, 13), zero);
      if (i < 6) h40.set(packets[i]!.slice(0, 40), zero);
    }
    const verdicts: number[] = [];
    for (const [i, p] of packets.entries()) {
      if (i === 12) {
        h40.delete(packets[0]!.slice(0, 40));
        h40.set(packets[7]!.slice(0, 40), zero);
        h4.delete(packets[2]!.slice(0, 4));
      }
      verdicts.push(prog.run(p, { cpu: i % 2 }));
    }
    const dump = (m: typeof h4): unknown => [...m.entriesPerCpu()].map(([k, v]) => [[...k], v.map((x) => [...x])]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    return { verdicts, maps: JSON.stringify([dump(h4), dump(h13), dump(h40)]), inlined: prog.engineKind === 'jit' ? (prog.engine as unknown as { compiled: { inlinedLookups: number } }).compiled.inlinedLookups : 0 };
  };
  const jit = runs('jit');
  const interp = runs('interpreter');
  assert.equal(jit.inlined, 3);
  assert.deepEqual({ ...jit, inlined: 0 }, interp);
  assert.ok(jit.verdicts.includes(16) && jit.verdicts.includes(16 + 7) && jit.verdicts.includes(16 + 4), 'misses, hits in all three, a hit after the update');
});

test('accesses without a check: stack slots at known offsets, map values past their NULL check; the rest still fault as in the interpreter', () => {
  const unchecked = (insns: Parameters<typeof prepareProgram>[0]): number => compileProgram(prepareProgram(insns, { helpers: builtinHelpers() })).uncheckedAccesses;
  // r10 + k inside the frame, also through a copy; outside the frame (r10 + 0, below -512) checked.
  assert.equal(unchecked(program(st.dw(r10, -8, 1), alu64.mov.reg(r2, r10), alu64.add.imm(r2, -16), stx.dw(r2, 0, r1), ldx.dw(r0, r2, 8), exit())), 3);
  assert.equal(unchecked(program(st.dw(r10, 0, 1), st.dw(r10, -520, 1), alu64.mov.imm(r0, 0), exit())), 0);
  // A program that overwrites r10: its accesses keep the check.
  assert.equal(unchecked(program(alu64.mov.reg(r10, r1), st.dw(r10, -8, 1), alu64.mov.imm(r0, 0), exit())), 0);
  const runs = (engine: 'jit' | 'interpreter'): { outcomes: (number | string)[]; shared: string; unchecked: number } => {
    using u = loadUserspace(obj, { engine, programs: ['xdp_value_bounds'], verify: false });
    const prog = u.program('xdp_value_bounds');
    const outcomes: (number | string)[] = [];
    for (const [index, mode] of [[0, 0], [2, 1], [3, 1], [4, 0], [1, 2], [3, 0]] as const) {
      const packet = new Uint8Array(60).fill(0);
      packet[0] = index;
      packet[1] = mode;
      try {
        outcomes.push(prog.run(packet));
      } catch (e) {
        outcomes.push(`${(e as { code?: string }).code} ${(e as Error).message}`);
      }
    }
    const shared = JSON.stringify([...u.bpfMap('shared').entries()].map(([k, v]) => [[...k], [...v]]));
    return { outcomes, shared, unchecked: engine === 'jit' ? (prog.engine as unknown as { compiled: { uncheckedAccesses: number } }).compiled.uncheckedAccesses : 0 };
  };
  const jit = runs('jit');
  const interp = runs('interpreter');
  assert.deepEqual(jit.outcomes, interp.outcomes);
  assert.equal(jit.shared, interp.shared);
  // Index 3 reading past its value leaves the map's region; the store to the read-only map faults.
  assert.match(String(jit.outcomes[2]), /ERR_MEMORY_FAULT/);
  assert.match(String(jit.outcomes[4]), /ERR_MEMORY_FAULT.*write/);
  assert.deepEqual([jit.outcomes[0], jit.outcomes[3], jit.outcomes[5]], [2, 1, 2]);
  // The key's stack store, the loads of *v and *r, the store to *v: no check; the read at v + 8 and the store to r keep theirs.
  assert.equal(jit.unchecked, 4);
});
