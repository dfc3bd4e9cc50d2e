// Corpus: control flow (jumps out of range, into lddw, unreachable code, missing exit), bounded and
// infinite loops, BPF-to-BPF calls (arguments, stack depth, recursion) and tail calls.
import { type Instruction, alu32, alu64, call, exit, jmp, jmp32, label, ld, ldx, st, stx } from '../../../src/isa/index.js';
import { type CorpusProgram, TC, XDP, lookup, probe, ret } from './corpus-program.js';

/** Jumps, exits and unreachable code. */
export function cfgPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  out.push(probe('cfg/jump-past-end', 'a jump past the last instruction', XDP, 'reject', alu64.mov.imm(0, 0), jmp.ja(5), exit()));
  out.push(probe('cfg/jump-before-start', 'a jump before the first instruction', XDP, 'reject', alu64.mov.imm(0, 0), jmp.jeq.imm(0, 0, -3), exit()));
  out.push(probe('cfg/jump-to-end', 'a jump to one past the last instruction', XDP, 'reject', alu64.mov.imm(0, 0), jmp.jeq.imm(0, 0, 1), exit()));
  out.push(probe('cfg/jump-into-lddw', 'a jump into the second slot of lddw', XDP, 'reject', alu64.mov.imm(0, 0), jmp.jeq.imm(0, 0, 1), ld.imm64(2, 1n << 40n), exit()));
  out.push(probe('cfg/jump-over-lddw', 'a jump over a whole lddw', XDP, 'accept', alu64.mov.imm(0, 0), jmp.jeq.imm(0, 0, 2), ld.imm64(2, 1n << 40n), exit()));
  out.push(probe('cfg/unreachable-tail', 'instructions after the last exit nobody reaches', XDP, 'reject', ...ret(0), ...ret(1)));
  out.push(probe('cfg/unreachable-middle', 'an instruction jumped over on every path', XDP, 'reject', alu64.mov.imm(0, 0), jmp.ja(1), alu64.mov.imm(0, 1), exit()));
  out.push(probe('cfg/dead-branch', 'a branch the verifier proves dead is still reachable in the CFG', XDP, 'accept', alu64.mov.imm(0, 0), jmp.jeq.imm(0, 1, 'dead'), exit(), label('dead'), alu64.mov.imm(0, 1), exit()));
  out.push(probe('cfg/no-exit', 'falling off the end', XDP, 'reject', alu64.mov.imm(0, 0)));
  out.push(probe('cfg/last-is-jump-back', 'the last instruction jumps backwards into an exit', XDP, 'accept', jmp.ja('a'), label('b'), exit(), label('a'), alu64.mov.imm(0, 0), jmp.ja('b')));
  out.push(probe('cfg/fall-off-after-branch', 'one path falls off the end', XDP, 'reject', alu64.mov.imm(0, 0), jmp.jeq.imm(1, 0, 'x'), exit(), label('x'), alu64.mov.imm(0, 1)));
  out.push(probe('cfg/gotol', 'gotol (JMP32 ja)', XDP, 'accept', alu64.mov.imm(0, 0), jmp32.ja('x'), alu64.mov.imm(0, 1), label('x'), exit()));
  out.push(probe('cfg/ja-zero', 'goto +0', XDP, 'accept', alu64.mov.imm(0, 0), jmp.ja(0), exit()));
  out.push(probe('cfg/lddw-last', 'lddw as the last instruction', XDP, 'reject', alu64.mov.imm(0, 0), ld.imm64(2, 5)));
  out.push(probe('cfg/only-exit-r0', 'a two-instruction program', XDP, 'accept', ...ret(2)));
  out.push(probe('cfg/long-straight', '4000 straight-line instructions', XDP, 'accept', ...Array.from({ length: 4000 }, (_, i) => alu64.add.imm(0, i % 7)).map((x, i) => (i === 0 ? alu64.mov.imm(0, 0) : x)), exit()));
  return out;
}

/** Loops: bounded by constants, by may_goto; infinite and unbounded. */
export function loopPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  for (const n of [1, 10, 100, 1000]) {
    out.push(probe(`loop/count-${n}`, `a loop of ${n} iterations`, XDP, 'accept', alu64.mov.imm(0, 0), alu64.mov.imm(1, 0), label('top'), alu64.add.imm(0, 3), alu64.add.imm(1, 1), jmp.jlt.imm(1, n, 'top'), exit()));
  }
  out.push(probe('loop/count-32bit', 'a loop counting a w register', XDP, 'accept', alu64.mov.imm(0, 0), alu32.mov.imm(1, 0), label('top'), alu64.add.imm(0, 3), alu32.add.imm(1, 1), jmp32.jlt.imm(1, 20, 'top'), exit()));
  out.push(probe('loop/self', 'goto -1', XDP, 'reject', alu64.mov.imm(0, 0), jmp.ja(-1), exit()));
  out.push(probe('loop/infinite-two', 'a two-instruction infinite loop', XDP, 'reject', alu64.mov.imm(0, 0), label('top'), alu64.mov.imm(1, 0), jmp.ja('top'), exit()));
  out.push(probe('loop/never-increments', 'a loop whose counter never moves', XDP, 'reject', alu64.mov.imm(0, 0), alu64.mov.imm(1, 0), label('top'), alu64.add.imm(0, 1), jmp.jlt.imm(1, 10, 'top'), exit()));
  out.push(probe('loop/unbounded-counter', 'a loop bounded by an unknown value', XDP, 'reject', ldx.w(1, 1, 16), alu64.mov.imm(0, 0), label('top'), alu64.add.imm(0, 1), alu64.add.imm(1, -1), jmp.jne.imm(1, 0, 'top'), exit()));
  out.push(probe('loop/may-goto', 'an endless loop escaped by may_goto', XDP, 'accept', alu64.mov.imm(0, 0), label('top'), jmp.may_goto('done'), alu64.add.imm(0, 1), jmp.ja('top'), label('done'), exit()));
  out.push(probe('loop/stack-write-in-loop', 'a bounded loop writing the stack', XDP, 'accept', alu64.mov.imm(1, 0), label('top'), alu64.mov.reg(2, 10), alu64.add.imm(2, -64), alu64.add.reg(2, 1), st.b(2, 0, 0), alu64.add.imm(1, 1), jmp.jlt.imm(1, 64, 'top'), ...ret(0)));
  out.push(probe('loop/stack-write-in-loop-oob', 'a bounded loop writing past the frame', XDP, 'reject', alu64.mov.imm(1, 0), label('top'), alu64.mov.reg(2, 10), alu64.add.imm(2, -64), alu64.add.reg(2, 1), st.b(2, 0, 0), alu64.add.imm(1, 1), jmp.jle.imm(1, 64, 'top'), ...ret(0)));
  out.push(probe('loop/bpf-loop-helper', 'bpf_loop with a callback', XDP, 'accept', alu64.mov.imm(1, 10), ld.func(2, 'cb'), alu64.mov.imm(3, 0), alu64.mov.imm(4, 0), call.helper('loop'), ...ret(0), label('cb'), ...ret(0)));
  return out;
}

/** BPF-to-BPF calls and tail calls. */
export function callPrograms(): CorpusProgram[] {
  const out: CorpusProgram[] = [];
  const sub = (body: Instruction[]): (Instruction | ReturnType<typeof label>)[] => [label('sub'), ...body];
  out.push(probe('call/simple', 'a call of a subprogram', XDP, 'accept', call.func('sub'), exit(), ...sub(ret(1))));
  out.push(probe('call/args', 'arguments in r1..r5', XDP, 'accept', alu64.mov.imm(1, 3), alu64.mov.imm(2, 4), call.func('sub'), exit(), ...sub([alu64.mov.reg(0, 1), alu64.add.reg(0, 2), exit()])));
  out.push(probe('call/arg-uninit', 'the callee reads an argument never passed', XDP, 'reject', alu64.mov.imm(1, 3), call.func('sub'), exit(), ...sub([alu64.mov.reg(0, 2), exit()])));
  out.push(probe('call/callee-r6', 'the callee reads r6 it never wrote', XDP, 'reject', alu64.mov.imm(6, 3), call.func('sub'), exit(), ...sub([alu64.mov.reg(0, 6), exit()])));
  out.push(probe('call/callee-no-r0', 'the callee returns without setting r0', XDP, 'reject', call.func('sub'), exit(), ...sub([exit()])));
  out.push(probe('call/caller-r6-kept', 'r6 survives the call in the caller', XDP, 'accept', alu64.mov.imm(6, 3), call.func('sub'), alu64.mov.reg(0, 6), exit(), ...sub(ret(1))));
  out.push(probe('call/caller-r1-clobbered', 'r1 does not survive the call', XDP, 'reject', alu64.mov.imm(1, 3), call.func('sub'), alu64.mov.reg(0, 1), exit(), ...sub(ret(1))));
  out.push(probe('call/stack-arg', 'a pointer to the caller stack as argument', XDP, 'accept', st.dw(10, -8, 5), alu64.mov.reg(1, 10), alu64.add.imm(1, -8), call.func('sub'), exit(), ...sub([ldx.dw(0, 1, 0), exit()])));
  out.push(probe('call/stack-arg-uninit', 'the callee reads caller stack never written', XDP, 'reject', alu64.mov.reg(1, 10), alu64.add.imm(1, -8), call.func('sub'), exit(), ...sub([ldx.dw(0, 1, 0), exit()])));
  out.push(probe('call/ctx-arg', 'the context as argument', XDP, 'accept', call.func('sub'), exit(), ...sub([ldx.w(0, 1, 16), exit()])));
  out.push(probe('call/return-stack-ptr', 'returning a pointer to the callee stack', XDP, 'reject', call.func('sub'), ldx.dw(0, 0, 0), exit(), ...sub([st.dw(10, -8, 0), alu64.mov.reg(0, 10), alu64.add.imm(0, -8), exit()])));
  out.push(probe('call/stack-300-300', 'combined stack of two frames 600 bytes', XDP, 'reject', st.dw(10, -300, 0), call.func('sub'), exit(), ...sub([st.dw(10, -300, 0), ...ret(0)])));
  out.push(probe('call/stack-256-256', 'combined stack of two frames 512 bytes', XDP, 'accept', st.dw(10, -256, 0), call.func('sub'), exit(), ...sub([st.dw(10, -256, 0), ...ret(0)])));
  out.push(probe('call/recursion', 'a subprogram calling itself', XDP, 'reject', call.func('sub'), exit(), ...sub([call.func('sub'), exit()])));
  out.push(probe('call/into-middle', 'a call into the middle of the main program', XDP, 'reject', alu64.mov.imm(0, 0), call.func(-2), exit()));
  out.push(probe('call/past-end', 'a call past the end', XDP, 'reject', alu64.mov.imm(0, 0), call.func(5), exit()));
  out.push(probe('call/callee-falls-off', 'a subprogram with no exit', XDP, 'reject', call.func('sub'), exit(), ...sub([alu64.mov.imm(0, 0)])));
  out.push(probe('call/jump-across-subprog', 'a jump from one subprogram into another', XDP, 'reject', alu64.mov.imm(0, 0), jmp.jeq.imm(0, 0, 'inside'), call.func('sub'), exit(), label('sub'), alu64.mov.imm(0, 1), label('inside'), exit()));
  // Call depth: a chain of 9 frames.
  const chain = (n: number): (Instruction | ReturnType<typeof label>)[] => {
    const items: (Instruction | ReturnType<typeof label>)[] = [call.func('f1'), exit()];
    for (let i = 1; i < n; i++) items.push(label(`f${i}`), ...(i + 1 < n ? [call.func(`f${i + 1}`), exit()] : ret(0)));
    return items;
  };
  out.push(probe('call/depth-8', 'eight frames deep', XDP, 'accept', ...chain(8)));
  out.push(probe('call/depth-9', 'nine frames deep', XDP, 'reject', ...chain(9)));
  out.push(probe('call/map-value-arg', 'a map value pointer as argument', XDP, 'accept', ...lookup(), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(1, 0), call.func('sub'), label('out'), ...ret(0), ...sub([ldx.dw(0, 1, 0), exit()])));
  // Tail calls.
  const tail = (map: string, idx: Instruction = alu64.mov.imm(3, 0), ctx: Instruction = alu64.mov.reg(1, 6)): Instruction[] => [alu64.mov.reg(6, 1), ld.map_fd(2, map), idx, ctx, call.helper('tail_call'), ...ret(0)];
  out.push(probe('tail/ok', 'bpf_tail_call(ctx, prog_array, 0)', XDP, 'accept', ...tail('progs')));
  out.push(probe('tail/tc', 'a tail call from TC', TC, 'accept', ...tail('progs')));
  out.push(probe('tail/var-index', 'a tail call with an unknown index', XDP, 'accept', ...tail('progs', ldx.w(3, 1, 16))));
  out.push(probe('tail/wrong-map', 'a tail call through an array', XDP, 'reject', ...tail('array')));
  out.push(probe('tail/wrong-ctx', 'a tail call without the context', XDP, 'reject', ...tail('progs', alu64.mov.imm(3, 0), alu64.mov.imm(1, 0))));
  out.push(probe('tail/from-subprog', 'a tail call inside a subprogram', XDP, 'accept', call.func('sub'), exit(), ...sub(tail('progs'))));
  out.push(probe('tail/after-ringbuf-reserve', 'a tail call while holding a reference', XDP, 'reject',
    alu64.mov.reg(6, 1), ld.map_fd(1, 'ringbuf'), alu64.mov.imm(2, 8), alu64.mov.imm(3, 0), call.helper('ringbuf_reserve'), jmp.jeq.imm(0, 0, 'out'), alu64.mov.reg(7, 0),
    alu64.mov.reg(1, 6), ld.map_fd(2, 'progs'), alu64.mov.imm(3, 0), call.helper('tail_call'), alu64.mov.reg(1, 7), alu64.mov.imm(2, 0), call.helper('ringbuf_discard'), label('out'), ...ret(0)));
  out.push(probe('tail/stx-ctx-kept', 'the context saved across a tail call', XDP, 'accept', stx.dw(10, -8, 1), ...tail('progs').slice(0, -2), ldx.dw(1, 10, -8), ldx.w(0, 1, 16), exit()));
  return out;
}
