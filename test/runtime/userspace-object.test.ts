// loadUserspace: maps and programs in one address space, relocations, global data, per-CPU slots, tail calls, errors.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/object-loader.js';
import type { ObjectSpec, ProgramSpec } from '../../src/elf/object-spec.js';
import { alu64, call, exit, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r10, st, stx } from '../../src/isa/index.js';
import { BpfFuncId, BpfMapType, BpfProgType } from '../../src/isa/uapi.generated.js';
import { ProgramNotFoundError, MapNotFoundError, RelocationError } from '../../src/runtime/errors.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { buildUdp } from '../../src/packet/index.js';
import { fixturePath } from '../support/fixtures.js';
import { kernelTest } from '../kernel/harness.js';
import { encode } from '../../src/isa/encode.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';

const spec = (name: string): ObjectSpec => loadObject(new Uint8Array(readFileSync(fixturePath(name))), { objectName: name });
const packet = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 53, payload: 'x' });
const u32 = (n: number): Uint8Array => new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
const u64At = (b: Uint8Array, at: number): number => new DataView(b.buffer, b.byteOffset).getUint32(at, true) + 2 ** 32 * new DataView(b.buffer, b.byteOffset).getUint32(at + 4, true);

test('xdp_stats: each CPU counts in its own per-CPU slot', () => {
  using obj = loadUserspace(spec('xdp_stats'), { cpus: 3 });
  const prog = obj.program('xdp_stats_prog');
  assert.equal(prog.run(packet, { cpu: 0 }), 2);
  prog.run(packet, { cpu: 2 });
  prog.run(packet, { cpu: 2 });
  const v = obj.map('xdp_stats_map').read(u32(2))!; // XDP_PASS slot, 3 CPUs x 16 bytes
  assert.equal(v.length, 48);
  assert.deepEqual([u64At(v, 0), u64At(v, 16), u64At(v, 32)], [1, 0, 2], 'rx_packets per CPU');
  assert.deepEqual([u64At(v, 8), u64At(v, 40)], [packet.length, 2 * packet.length], 'rx_bytes per CPU');
  assert.throws(() => prog.run(packet, { cpu: 3 }), RangeError);
});

test('subprogs_globals: .data starts from the object, .rodata cannot be written by programs', () => {
  const s = spec('subprogs_globals');
  using obj = loadUserspace(s);
  const data = s.maps.find((m) => m.name === '.data')!;
  assert.deepEqual(obj.map('.data').read(u32(0)), data.data, '.data initialised from the object');
  const rodata = s.maps.find((m) => m.name === '.rodata')!;
  assert.deepEqual(obj.map('.rodata').read(u32(0)), rodata.data);
  // A program that stores into .rodata: refused by the verifier (as by the kernel's); without it, a fault.
  const bad: ProgramSpec = { ...s.programs[0]!, name: 'write_rodata', instructions: program(ld.map_value(r1, '.rodata', 0), st.b(r1, 0, 1), alu64.mov.imm(r0, 2), exit()) };
  assert.throws(() => loadUserspace({ ...s, programs: [bad] }), (e: unknown) => (e as { code?: string }).code === 'ERR_VERIFIER_REJECT' && /write into map forbidden/.test(String(e)), 'the verifier refuses it first');
  using obj2 = loadUserspace({ ...s, programs: [bad] }, { verify: false });
  assert.throws(() => obj2.program('write_rodata').run(packet), (e: unknown) => (e as { code?: string }).code === 'ERR_MEMORY_FAULT' && /read-only/.test(String(e)));
});

test('tail_calls: the dispatcher reaches prog_a / prog_b through the prog array; empty slots fall through', () => {
  using obj = loadUserspace(spec('tail_calls'));
  const d = obj.program('dispatcher');
  const withFirst = (b: number): Uint8Array => {
    const p = packet.slice();
    p[0] = b;
    return p;
  };
  assert.equal(d.run(withFirst(0)), 2, 'slot 0: prog_a passes');
  assert.equal(d.run(withFirst(2)), 1, 'slot 2: prog_b drops');
  assert.equal(d.run(withFirst(3)), 2, 'slot 3 is empty: falls through');
  assert.equal(d.run(withFirst(0)), 2, 'the next run starts at the dispatcher again');
  const hits = [0, 1, 2, 3].map((k) => u64At(obj.map('hits').read(u32(k))!, 0));
  assert.deepEqual(hits, [2, 0, 1, 1]);
  assert.equal(obj.map('jump_table').read(u32(0))![0], obj.program('prog_a').id, 'a slot reads back as the program id');
});

test('after dispose, the object and programs taken from it refuse to run', () => {
  const obj = loadUserspace(spec('xdp_stats'));
  const prog = obj.program('xdp_stats_prog');
  obj[Symbol.dispose]();
  assert.throws(() => prog.run(packet), /disposed/);
  assert.throws(() => obj.program('xdp_stats_prog'), /after dispose/);
});

test('testRun follows BPF_PROG_TEST_RUN: repeat accumulates, ctx_in is validated', () => {
  using obj = loadUserspace(spec('xdp_stats'));
  const r = obj.program('xdp_stats_prog').testRun({ data: packet, repeat: 5 });
  assert.equal(r.retval, 2);
  assert.deepEqual(r.dataOut, packet);
  assert.equal(r.ctxOut.length, 24);
  assert.ok(r.durationNs >= 0 && r.instructions > 0);
  assert.equal(u64At(obj.map('xdp_stats_map').read(u32(2))!, 0), 5);
  const ctx = new Uint8Array(24);
  new DataView(ctx.buffer).setUint32(4, packet.length + 1, true); // data_end must equal the length
  assert.throws(() => obj.program('xdp_stats_prog').testRun({ data: packet, ctxIn: ctx }), (e: unknown) => (e as { code?: string }).code === 'ERR_INVALID_CONTEXT');
});

test('a helper id the runtime lacks is refused at load, naming the program; names that do not exist are typed errors', () => {
  const s = spec('xdp_stats');
  const p: ProgramSpec = { ...s.programs[0]!, name: 'odd', instructions: program(call.helper(BpfFuncId.skb_get_tunnel_key), exit()) };
  assert.throws(() => loadUserspace({ ...s, programs: [p] }), (e: unknown) => /program "odd"/.test(String(e)) && /helper/.test(String(e)));
  using obj = loadUserspace(s);
  assert.throws(() => obj.program('nope'), ProgramNotFoundError);
  assert.throws(() => obj.map('nope'), MapNotFoundError);
  assert.throws(() => loadUserspace(s, { programs: ['nope'] }), ProgramNotFoundError);
});

test('a map reference to a map the object lacks is a RelocationError with the pc', () => {
  const s = spec('xdp_stats');
  const p: ProgramSpec = { ...s.programs[0]!, name: 'dangling', instructions: program(ld.map_fd(r1, 'missing'), alu64.mov.imm(r0, 2), exit()) };
  assert.throws(() => loadUserspace({ ...s, programs: [p] }, { verify: false }), (e: unknown) => e instanceof RelocationError && e.pc === 0 && /missing/.test(e.message));
});

test('programs of a type the runtime cannot run are listed in skipped, not fatal', () => {
  const s = spec('xdp_stats');
  const kp: ProgramSpec = { ...s.programs[0]!, name: 'kprobe_thing', type: BpfProgType.KPROBE };
  using obj = loadUserspace({ ...s, programs: [...s.programs, kp] });
  assert.ok(obj.programs.has('xdp_stats_prog'));
  assert.match(obj.skipped.get('kprobe_thing') ?? '', /cannot run in userspace/);
});

test('bpf_get_smp_processor_id returns the CPU the run is on', () => {
  const s = spec('xdp_stats');
  const p: ProgramSpec = { ...s.programs[0]!, name: 'cpu', instructions: program(call.helper('get_smp_processor_id'), exit()) };
  using obj = loadUserspace({ ...s, programs: [p] }, { cpus: 4 });
  assert.deepEqual([0, 1, 3].map((cpu) => obj.program('cpu').run(packet, { cpu })), [0, 1, 3]);
});

test('map helpers: update then lookup through program memory; per-CPU values per CPU', () => {
  const s = spec('xdp_stats');
  const h = { ...s.maps[0]!, name: 'h', type: BpfMapType.PERCPU_HASH, keySize: 4, valueSize: 8, maxEntries: 4, initEntries: [] };
  // *(u32 *)(fp - 4) = 7; *(u64 *)(fp - 16) = 9 + cpu; update(h, &key, &value, BPF_ANY); return *lookup(h, &key)
  const p: ProgramSpec = {
    ...s.programs[0]!,
    name: 'upd',
    maps: ['h'],
    instructions: program(
      st.w(r10, -4, 7),
      call.helper('get_smp_processor_id'),
      alu64.add.imm(r0, 9),
      stx.dw(r10, -16, r0),
      ld.map_fd(r1, 'h'),
      alu64.mov.reg(r2, r10),
      alu64.add.imm(r2, -4),
      alu64.mov.reg(r3, r10),
      alu64.add.imm(r3, -16),
      alu64.mov.imm(r4, 0),
      call.helper('map_update_elem'),
      jmp.jne.imm(r0, 0, 'fail'),
      ld.map_fd(r1, 'h'),
      alu64.mov.reg(r2, r10),
      alu64.add.imm(r2, -4),
      call.helper('map_lookup_elem'),
      jmp.jeq.imm(r0, 0, 'fail'),
      ldx.dw(r0, r0, 0),
      exit(),
      label('fail'),
      alu64.mov.imm(r0, 99),
      exit(),
    ),
  };
  using obj = loadUserspace({ ...s, maps: [...s.maps, h], programs: [p] }, { cpus: 2 });
  assert.equal(obj.program('upd').run(packet, { cpu: 0 }), 9);
  assert.equal(obj.program('upd').run(packet, { cpu: 1 }), 10);
  const v = obj.map('h').read(u32(7))!;
  assert.deepEqual([u64At(v, 0), u64At(v, 8)], [9, 10]);
});

kernelTest('testRun with repeat: adjustments accumulate over the runs exactly as in the kernel', (sys) => {
  // bpf_xdp_adjust_head(ctx, 4) then return XDP_PASS: each run drops 4 more bytes of the front.
  const insns = program(alu64.mov.imm(r2, 4), call.helper('xdp_adjust_head'), alu64.mov.imm(r0, 2), exit());
  const s = spec('xdp_stats');
  const p: ProgramSpec = { ...s.programs[0]!, name: 'shrink', maps: [], instructions: insns };
  using obj = loadUserspace({ ...s, maps: [], programs: [p] });
  using prog = loadProgram(sys, { type: BpfProgType.XDP, insns: encode(insns), license: 'GPL', name: 'bk_rt_repeat' });
  for (const repeat of [1, 3, 7]) {
    const mine = obj.program('shrink').testRun({ data: packet, repeat });
    const theirs = testRun(prog, { dataIn: packet, repeat });
    assert.equal(mine.retval, theirs.retval);
    assert.deepEqual(mine.dataOut, theirs.dataOut, `repeat ${repeat}`);
  }
});
