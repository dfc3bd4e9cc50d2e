// The JIT against the reference interpreter on memory, faults, budget, calls, helpers, tail calls and legacy loads.
import { test } from 'node:test';
import { socketFilterOps } from '../../src/ctx/socket-filter.js';
import {
  alu32, alu64, atomic, call, exit, type Instruction, jmp, jmp32, label, ld, ldx, ldxs, program, r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, st, stx,
} from '../../src/isa/index.js';
import { BpfFuncId } from '../../src/isa/uapi.generated.js';
import type { AddressSpace } from '../../src/vm/address-space.js';
import { builtinHelpers, type HelperFn } from '../../src/vm/helpers.js';
import type { PreparedProgram } from '../../src/vm/program.js';
import { assertSameRuns, type SideOptions } from './differential.js';

const packets = [new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff), new Uint8Array(20).map((_, i) => 200 - i), new Uint8Array(128).fill(0xa5)];
/** r6 = data, r7 = data_end, r8 = data + 64 (checked: shorter packets return 1). */
const prologue = (): (Instruction | ReturnType<typeof label>)[] => [
  ldx.w(r6, r1, 0), ldx.w(r7, r1, 4), alu64.mov.reg(r8, r6), alu64.add.imm(r8, 64), jmp.jle.reg(r8, r7, 'body'), alu64.mov.imm(r0, 1), exit(), label('body'),
];

test('loads, stores, sign-extending loads and st immediates in packet and stack', () => {
  assertSameRuns(program(
    prologue(),
    ldx.dw(r2, r6, 0), ldx.w(r3, r6, 8), ldx.h(r4, r6, 12), ldx.b(r5, r6, 14),
    ldxs.w(r9, r6, 16), stx.dw(r6, 24, r9), ldxs.h(r9, r6, 20), stx.dw(r6, 32, r9), ldxs.b(r9, r6, 22), stx.dw(r6, 40, r9),
    stx.dw(r10, -8, r2), stx.w(r10, -12, r3), stx.h(r10, -14, r4), stx.b(r10, -15, r5), ldx.dw(r0, r10, -16), stx.dw(r6, 48, r0),
    st.dw(r6, 56, -5), st.w(r6, 0, -0x7fffffff), st.h(r6, 4, 0x12345), st.b(r6, 6, -1),
    ldx.dw(r0, r10, -8), exit(),
  ), packets);
});

test('atomics (add/or/and/xor, fetch forms, xchg, cmpxchg hit and miss; 32 and 64-bit), load-acquire and store-release', () => {
  const body: Instruction[] = [];
  for (const size of ['w', 'dw'] as const) {
    for (const op of ['add', 'or', 'and', 'xor', 'fetch_add', 'fetch_or', 'fetch_and', 'fetch_xor', 'xchg', 'cmpxchg'] as const) {
      body.push(ldx.dw(r2, r6, 8), ldx.dw(r0, r6, 16), atomic[size][op](r6, 0, r2), stx.dw(r6, 24, r2), stx.dw(r6, 32, r0), ldx.dw(r3, r6, 0), stx.dw(r6, 40, r3));
      // cmpxchg that hits: r0 = current value
      body.push(ldx.dw(r0, r6, 0), ldx.dw(r2, r6, 48), atomic[size][op](r6, 0, r2), stx.dw(r6, 56, r0));
    }
  }
  for (const size of ['b', 'h', 'w', 'dw'] as const) body.push(atomic[size].load_acq(r2, r6, 8), atomic[size].store_rel(r6, 16, r2), atomic[size].load_acq(r3, r6, 16), stx.dw(r6, 24, r3));
  assertSameRuns(program(prologue(), body, alu64.mov.reg(r0, r3), exit()), packets);
});

test('memory faults: same error, pc, address, region and offset', () => {
  const cases: Instruction[][] = [
    [ldx.dw(r0, r6, 60)], // crosses data_end
    [ldx.b(r0, r6, -1)], // before the packet
    [st.w(r1, 0, 5)], // the context is read-only
    [alu64.mov.imm(r2, 0x1234), ldx.w(r0, r2, 0)], // unmapped
    [stx.dw(r10, -520, r1)], // below the stack frame
    [ldx.w(r0, r10, 0)], // above it
    [ld.imm64(r2, -0x100000000n), alu64.add.reg(r2, r6), ldx.b(r0, r2, 0)], // tag carried into another region id
    [atomic.w.add(r1, 0, r2)], // atomic on read-only memory
    [alu64.mov.imm(r2, 0), ldx.dw(r0, r2, 0)], // NULL
    [ld.imm64(r2, 0xffffffffn), alu64.add.reg(r6, r2), ldx.b(r0, r6, 1)], // low word wraps
    [ldxs.b(r0, r1, 12), ldxs.h(r2, r1, 12), ldxs.w(r3, r1, 12), stx.dw(r6, 0, r0), stx.dw(r6, 8, r2), stx.dw(r6, 16, r3), ldx.b(r0, r1, 13)], // hooked ctx loads, then a narrow one
  ];
  for (const [i, c] of cases.entries()) assertSameRuns(program(prologue(), st.dw(r6, 0, 77), c, alu64.mov.imm(r0, 2), exit()), packets, {}, `case ${i}`);
});

test('budget: exact BudgetExceeded pc and instruction count at every budget through a loop body with stores', () => {
  const loop = program(
    prologue(), alu64.mov.imm(r0, 0), label('top'), alu64.add.imm(r0, 1), stx.dw(r6, 0, r0), alu64.mul.imm(r0, 3), stx.dw(r6, 8, r0), alu64.div.imm(r0, 3), jmp.ja('top'),
  );
  for (let budget = 1; budget <= 40; budget++) assertSameRuns(loop, packets.slice(0, 1), { budget }, `budget ${budget}`);
  const counted = program(prologue(), alu64.mov.imm(r0, 0), label('top'), alu64.add.imm(r0, 1), jmp.jlt.imm(r0, 1000, 'top'), exit());
  for (const budget of [3000, 3007, 3008, 3009, 1_000_000]) assertSameRuns(counted, packets, { budget }, `budget ${budget}`);
});

test('falling off the end of the program, with and without budget left', () => {
  const off = program(alu64.mov.imm(r0, 1), alu64.add.imm(r0, 1));
  for (const budget of [1, 2, 3, 100]) assertSameRuns(off, packets.slice(0, 1), { budget }, `budget ${budget}`);
});

test('nested loops with backward jumps (a hash over the packet)', () => {
  assertSameRuns(program(
    prologue(), alu64.mov.imm(r0, 7), alu64.mov.imm(r2, 0),
    label('outer'), alu64.mov.imm(r3, 0),
    label('inner'), alu64.mov.reg(r4, r2), alu64.xor.reg(r4, r3), alu64.and.imm(r4, 63), alu64.mov.reg(r5, r6), alu64.add.reg(r5, r4), ldx.b(r4, r5, 0),
    alu64.mul.imm(r0, 31), alu64.add.reg(r0, r4), alu64.add.imm(r3, 1), jmp.jlt.imm(r3, 16, 'inner'),
    stx.b(r6, 0, r0), alu64.add.imm(r2, 1), jmp32.jlt.imm(r2, 16, 'outer'),
    exit(),
  ), packets);
});

test('may_goto falls through BPF_MAX_LOOPS times, then jumps', () => {
  assertSameRuns(program(
    alu64.mov.imm(r0, 0), label('top'), jmp.may_goto('out'), alu64.add.imm(r0, 1), jmp.ja('top'), label('out'), exit(),
  ), packets.slice(0, 1), { budget: 30_000_000 });
  assertSameRuns(program(alu64.mov.imm(r0, 0), label('top'), jmp.may_goto('out'), alu64.add.imm(r0, 1), jmp.ja('top'), label('out'), exit()), packets.slice(0, 1), { budget: 1000 });
});

test('BPF-to-BPF calls: frames, r6-r9 restored, r0-r5 from the callee, stacks zeroed between runs, depth limit', () => {
  const calls = program(
    prologue(), ldx.dw(r9, r10, -8), stx.dw(r6, 56, r9), st.dw(r10, -8, 1234),
    alu64.mov.imm(r1, 5), alu64.mov.imm(r9, 9), call.func('f'),
    stx.dw(r6, 0, r0), stx.dw(r6, 8, r1), stx.dw(r6, 16, r2), stx.dw(r6, 24, r9), ldx.dw(r3, r10, -8), stx.dw(r6, 32, r3), exit(),
    label('f'), ldx.dw(r3, r10, -8), stx.dw(r6, 40, r3), stx.dw(r10, -8, r1), alu64.mov.imm(r9, 99), alu64.mul.imm(r1, 3), call.func('g'), ldx.dw(r4, r10, -8), alu64.add.reg(r0, r4), exit(),
    label('g'), alu64.mov.reg(r0, r1), alu64.add.imm(r0, 100), alu64.mov.imm(r1, 77), alu64.mov.imm(r2, 88), stx.dw(r10, -16, r0), exit(),
  );
  assertSameRuns(calls, packets);
  const recurse = (n: number): Instruction[] => program(
    prologue(), alu64.mov.imm(r1, n), alu64.mov.imm(r0, 0), call.func('rec'), stx.dw(r6, 0, r0), exit(),
    label('rec'), stx.dw(r10, -8, r1), alu64.add.imm(r0, 1), alu64.sub.imm(r1, 1), jmp.jeq.imm(r1, 0, 'done'), call.func('rec'), label('done'), ldx.dw(r2, r10, -8), alu64.add.reg(r0, r2), exit(),
  );
  for (const n of [1, 7, 8, 20]) assertSameRuns(recurse(n), packets, {}, `depth ${n}`);
  // Budget running out inside a callee.
  for (const budget of [12, 20, 25, 31]) assertSameRuns(recurse(6), packets.slice(0, 1), { budget }, `budget ${budget}`);
});

test('helpers see r1..r5 (as numbers and halves) and return r0 (numbers, negative errors, BigInts); built-in helpers', () => {
  const seen: string[] = [];
  const table = (): Map<number, HelperFn> => {
    const m = builtinHelpers();
    m.set(BpfFuncId.trace_printk, (vm, a, b, c, d, e) => {
      seen.push(`${vm.pc} ${a} ${b} ${c} ${d} ${e} ${vm.regLo(3)} ${vm.regHi(3)} ${vm.reg(5)}`);
      return a === 1 ? -22 : a === 2 ? 0xfedcba9876543210n : b + c;
    });
    return m;
  };
  const prog = program(
    prologue(),
    call.helper('ktime_get_ns'), stx.dw(r6, 0, r0), call.helper('get_prandom_u32'), stx.dw(r6, 8, r0), call.helper('get_smp_processor_id'), stx.dw(r6, 16, r0),
    alu64.mov.imm(r1, 1), ld.imm64(r3, 0x8000000012345678n), alu64.mov.imm(r5, -1), call.helper('trace_printk'), stx.dw(r6, 24, r0),
    alu64.mov.imm(r1, 2), call.helper('trace_printk'), stx.dw(r6, 32, r0),
    alu64.mov.imm(r1, 3), alu64.mov.imm(r2, 1000), alu64.mov.imm(r3, 234), call.helper('trace_printk'), stx.dw(r6, 40, r0),
    stx.dw(r6, 48, r1), stx.dw(r6, 56, r5), exit(),
  );
  assertSameRuns(prog, packets, { helpers: table });
  const half = seen.length / 2;
  for (let i = 0; i < half; i++) if (seen[i] !== seen[half + i]) throw new Error(`helper saw ${seen[half + i]}, interpreter ${seen[i]}`);
});

test('a helper that moves the packet (adjust_head) mid-program: new data pointers work, stale ones fault', () => {
  const helpers = (space: AddressSpace): Map<number, HelperFn> => {
    const m = builtinHelpers();
    m.set(BpfFuncId.xdp_adjust_head, (_vm, _ctx, delta) => {
      const pkt = space.regions.find((r) => r.kind === 'packet')!;
      const d = delta | 0;
      pkt.setWindow(pkt.start - pkt.base + d, pkt.end - pkt.base);
      return 0;
    });
    return m;
  };
  const body = (stale: boolean): Instruction[] => program(
    prologue(), alu64.mov.reg(r9, r1), alu64.mov.imm(r2, 14), call.helper('xdp_adjust_head'),
    ldx.w(r2, r9, 0), ldx.w(r3, r9, 4), alu64.mov.reg(r4, r2), alu64.add.imm(r4, 8), jmp.jgt.reg(r4, r3, 'out'),
    ldx.dw(r5, r2, 0), stx.dw(r2, 0, r5), alu64.mov.reg(r0, r5),
    stale ? ldx.b(r5, r6, 2) : alu64.mov.imm(r5, 0),
    alu64.mov.imm(r1, 0), alu64.sub.imm(r1, 4), alu64.mov.reg(r2, r9), call.helper('xdp_adjust_head'), ldx.w(r2, r9, 0), ldx.dw(r0, r2, 0),
    label('out'), exit(),
  );
  assertSameRuns(body(false), packets, { helpers });
  assertSameRuns(body(true), packets, { helpers });
});

/** A tail-call hook over a list of programs: index r3 picks one. */
function tailOptions(targets: Instruction[][]): SideOptions {
  return {
    tailCalls: (_space, prepare) => {
      const list: PreparedProgram[] = targets.map((t) => prepare(t));
      return { resolve: (_vm, _map, index) => list[index] };
    },
  };
}

test('tail calls: transfer, empty slot falls through, the 33-call limit, from a subprogram back to its caller', () => {
  const chain = program(ldx.w(r6, r1, 0), ldx.w(r7, r1, 4), alu64.mov.reg(r8, r6), alu64.add.imm(r8, 8), jmp.jgt.reg(r8, r7, 'out'),
    ldx.dw(r2, r6, 0), alu64.add.imm(r2, 1), stx.dw(r6, 0, r2), alu64.mov.imm(r3, 1), alu64.mov.imm(r0, 3), call.helper('tail_call'), alu64.mov.imm(r0, 5), label('out'), exit());
  const target = program(alu64.mov.imm(r0, 7), alu64.add.reg(r0, r9), exit());
  const main = program(
    prologue(), ldx.b(r3, r6, 0), alu64.and.imm(r3, 3), alu64.mov.imm(r9, 100), alu64.mov.imm(r0, 1), call.helper('tail_call'), stx.dw(r6, 8, r0), alu64.mov.imm(r0, 99), exit(),
  );
  const opts = tailOptions([target, chain, target]);
  const pk = [0, 1, 2, 3].map((b) => { const p = new Uint8Array(64); p[0] = b; return p; });
  assertSameRuns(main, pk, opts, 'main');
  assertSameRuns(chain, pk, opts, 'chain');
  const fromSub = program(
    prologue(), ldx.b(r7, r6, 0), alu64.mov.imm(r9, 1000), call.func('sub'), alu64.add.imm(r0, 10), stx.dw(r6, 8, r0), stx.dw(r6, 16, r9), exit(),
    label('sub'), alu64.mov.reg(r3, r7), alu64.and.imm(r3, 3), alu64.mov.imm(r9, 50), alu64.mov.imm(r0, 1), call.helper('tail_call'), alu64.mov.imm(r0, 2), exit(),
  );
  assertSameRuns(fromSub, pk, opts, 'from a subprogram');
  for (const budget of [10, 15, 40, 100]) assertSameRuns(chain, pk.slice(0, 1), { ...opts, budget }, `chain budget ${budget}`);
});

test('LD_ABS / LD_IND: in bounds, negative SKF offsets, out of bounds (r0 = 0, exit, also from a subprogram)', () => {
  const prog = program(
    alu64.mov.reg(r6, r1), ld.abs.b(0), alu64.mov.reg(r7, r0), ld.abs.h(2), alu64.add.reg(r7, r0), ld.abs.w(4), alu64.add.reg(r7, r0),
    alu64.mov.imm(r8, 6), ld.ind.h(r8, 4), alu64.add.reg(r7, r0), ld.abs.w(-0x100000 + 2), alu64.add.reg(r7, r0), ld.abs.b(-0x200000 + 1), alu64.add.reg(r7, r0),
    call.func('sub'), alu64.add.reg(r0, r7), exit(),
    label('sub'), alu64.mov.imm(r8, 40), ld.ind.w(r8, 0), alu64.mov.imm(r0, 5), exit(),
  );
  assertSameRuns(prog, packets, { programType: socketFilterOps });
  assertSameRuns(program(ld.abs.w(1000), alu64.mov.imm(r0, 3), exit()), packets, { programType: socketFilterOps });
  assertSameRuns(program(ld.abs.w(0), alu32.mov.imm(r0, 3), exit()), packets, {}); // no skb: fails
});

test('callbacks (a bpf_loop-like helper re-entering the program): frames, shared budget, nesting, registers after the helper', () => {
  const loopHelper = (): Map<number, HelperFn> => {
    const m = builtinHelpers();
    m.set(BpfFuncId.loop, (vm, n, fn, ctx) => {
      let i = 0;
      while (i < n) {
        const r = vm.callFunction!(fn % 4294967296, i, ctx, 0, 0, 0);
        i++;
        if (r !== 0) break;
      }
      return i;
    });
    return m;
  };
  const prog = program(
    prologue(), alu64.mov.imm(r9, 7), st.dw(r10, -8, 0),
    ldx.b(r1, r6, 0), alu64.and.imm(r1, 15), ld.func(r2, 'cb'), alu64.mov.reg(r3, r10), alu64.add.imm(r3, -8), alu64.mov.imm(r4, 0), call.helper('loop'),
    stx.dw(r6, 0, r0), stx.dw(r6, 8, r9), ldx.dw(r2, r10, -8), stx.dw(r6, 16, r2), stx.dw(r6, 24, r1), stx.dw(r6, 32, r3), exit(),
    // cb(i, ctx): *ctx += i * 3 + r0-at-entry; an inner loop of 2 nested callbacks; stops at i == 9
    label('cb'), alu64.mov.reg(r7, r1), alu64.mov.reg(r8, r2), stx.dw(r10, -16, r0), alu64.mov.reg(r9, r1), alu64.mul.imm(r9, 3), ldx.dw(r3, r8, 0), alu64.add.reg(r3, r9), stx.dw(r8, 0, r3),
    alu64.mov.imm(r1, 2), ld.func(r2, 'inner'), alu64.mov.reg(r3, r8), alu64.mov.imm(r4, 0), call.helper('loop'),
    alu64.mov.imm(r0, 0), jmp.jne.imm(r7, 9, 'go'), alu64.mov.imm(r0, 1), label('go'), exit(),
    label('inner'), ldx.dw(r3, r2, 0), alu64.add.imm(r3, 1000), stx.dw(r2, 0, r3), alu64.mov.imm(r0, 0), exit(),
  );
  const pk = [0, 3, 10, 15].map((b) => { const p = new Uint8Array(64); p[0] = b; return p; });
  assertSameRuns(prog, pk, { helpers: loopHelper });
  for (const budget of [30, 45, 60, 75, 90, 120]) assertSameRuns(prog, pk.slice(3), { helpers: loopHelper, budget }, `budget ${budget}`);
});
