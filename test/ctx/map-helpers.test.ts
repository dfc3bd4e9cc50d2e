// Map helpers vs the kernel: random lookup/update/delete and push/pop/peek sequences from an XDP
// program, per map type; every return value and the final map contents must match.
import assert from 'node:assert/strict';
import { alu64, call, encode, exit, type Instruction, jmp, label, ld, ldx, program, r0, r1, r2, r3, r4, r6, r7, r8, r9, r10, stx } from '../../src/isa/index.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import { createHelperEnv } from '../../src/ctx/helpers/index.js';
import { xdpOps } from '../../src/ctx/xdp.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { keys, lookupElem } from '../../src/kernel/bpf/map-elem.js';
import { perCpuStride } from '../../src/kernel/bpf/map-fd.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace, createVm } from '../../src/vm/index.js';
import { kernelTest } from '../kernel/harness.js';
import { rng } from '../vm/oracle.js';

/** Keyed maps: op 0 update(flags), 1 lookup and increment, 2 delete. Packet: op, flags, _, _, key u32, value u64. */
function keyedProgram(fd: number): Instruction[] {
  return program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r2, r6),
    alu64.add.imm(r2, 16),
    alu64.mov.imm(r0, 0xdead),
    jmp.jgt.reg(r2, r7, 'out'),
    ldx.w(r8, r6, 4),
    stx.w(r10, -4, r8),
    ldx.dw(r8, r6, 8),
    stx.dw(r10, -16, r8),
    ldx.b(r9, r6, 0),
    ld.map_fd(r1, fd),
    alu64.mov.reg(r2, r10),
    alu64.add.imm(r2, -4),
    jmp.jne.imm(r9, 0, 'not_update'),
    alu64.mov.reg(r3, r10),
    alu64.add.imm(r3, -16),
    ldx.b(r4, r6, 1),
    call.helper('map_update_elem'),
    jmp.ja('out'),
    label('not_update'),
    jmp.jne.imm(r9, 1, 'not_lookup'),
    call.helper('map_lookup_elem'),
    jmp.jne.imm(r0, 0, 'found'),
    alu64.mov.imm(r0, 0xffff),
    jmp.ja('out'),
    label('found'),
    ldx.dw(r3, r0, 0),
    alu64.add.imm(r3, 1),
    stx.dw(r0, 0, r3),
    alu64.mov.reg(r0, r3),
    jmp.ja('out'),
    label('not_lookup'),
    call.helper('map_delete_elem'),
    label('out'),
    exit(),
  );
}

/** Queue/stack: op 3 push(value, flags), 4 pop, 5 peek; returns the result, or the low word of the value taken. */
function queueProgram(fd: number): Instruction[] {
  return program(
    ldx.w(r6, r1, 0),
    ldx.w(r7, r1, 4),
    alu64.mov.reg(r2, r6),
    alu64.add.imm(r2, 16),
    alu64.mov.imm(r0, 0xdead),
    jmp.jgt.reg(r2, r7, 'out'),
    ldx.dw(r8, r6, 8),
    stx.dw(r10, -16, r8),
    ldx.b(r9, r6, 0),
    ld.map_fd(r1, fd),
    alu64.mov.reg(r2, r10),
    alu64.add.imm(r2, -16),
    jmp.jne.imm(r9, 3, 'not_push'),
    ldx.b(r3, r6, 1),
    call.helper('map_push_elem'),
    jmp.ja('out'),
    label('not_push'),
    jmp.jne.imm(r9, 4, 'peek'),
    call.helper('map_pop_elem'),
    jmp.ja('taken'),
    label('peek'),
    call.helper('map_peek_elem'),
    label('taken'),
    jmp.jne.imm(r0, 0, 'out'),
    ldx.w(r0, r10, -16),
    alu64.add.imm(r0, 0x100000),
    label('out'),
    exit(),
  );
}

function packet(op: number, flags: number, key: number, value: bigint): Uint8Array {
  const p = new Uint8Array(32);
  const v = new DataView(p.buffer);
  p[0] = op;
  p[1] = flags;
  v.setUint32(4, key, true);
  v.setBigUint64(8, value, true);
  return p;
}

/** Sums the per-CPU slots of a value (or returns it as a bigint for plain maps). */
function total(bytes: Uint8Array, slot: number): bigint {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let sum = 0n;
  for (let off = 0; off + 8 <= bytes.length; off += slot) sum += v.getBigUint64(off, true);
  return sum;
}

const CASES = [
  { type: BpfMapType.HASH, name: 'hash', keyed: true },
  { type: BpfMapType.PERCPU_HASH, name: 'percpu_hash', keyed: true },
  { type: BpfMapType.ARRAY, name: 'array', keyed: true },
  { type: BpfMapType.PERCPU_ARRAY, name: 'percpu_array', keyed: true },
  { type: BpfMapType.LRU_HASH, name: 'lru_hash', keyed: true, noOverflow: true },
  { type: BpfMapType.QUEUE, name: 'queue', keyed: false },
  { type: BpfMapType.STACK, name: 'stack', keyed: false },
] as const;

kernelTest('map helpers: random lookup/update/delete/push/pop/peek sequences agree with the kernel, results and contents', (sys) => {
  let compared = 0;
  for (const c of CASES) {
    const def = { name: c.name, type: c.type, keySize: c.keyed ? 4 : 0, valueSize: 8, maxEntries: 4, flags: 0 };
    using fd = createKernelMap(sys, { type: def.type, keySize: def.keySize, valueSize: 8, maxEntries: 4 });
    const insns = c.keyed ? keyedProgram(fd.raw) : queueProgram(fd.raw);
    using prog = loadProgram(sys, { type: xdpOps.type, insns: encode(insns), license: 'GPL', name: 'bk_ctx_maps' });
    const space = new AddressSpace();
    const map = createMap(def, { space, cpus: 1 });
    const env = createHelperEnv({ mapByAddress: (a) => (a === map.address ? map : undefined) });
    const vm = createVm(insns, { space, env, programType: xdpOps, resolve: () => ({ lo: map.address | 0, hi: Math.floor(map.address / 4294967296) }) });
    const rand = rng(c.type * 31 + 5);
    let inserted = 0;
    for (let i = 0; i < 80; i++) {
      const op = c.keyed ? rand() % 3 : 3 + (rand() % 3);
      let key = rand() % 6;
      const flags = rand() % 5 === 0 ? rand() % 4 : 0;
      if ('noOverflow' in c && op === 0 && inserted >= 3) key = 0;
      if (op === 0 && flags !== 1) inserted++;
      const p = packet(op, flags, key, BigInt(rand()) * 1000n);
      const k = testRun(prog, { dataIn: p }).retval;
      const m = vm.run(undefined, p).retval;
      compared++;
      assert.equal(m, k, `${c.name} step ${i}: op ${op} key ${key} flags ${flags}`);
    }
    if (c.keyed) {
      const kernel = new Map<number, bigint>();
      for (const key of keys(fd)) kernel.set(new DataView(key.buffer).getUint32(0, true), total(lookupElem(fd, key)!, fd.perCpu ? perCpuStride(8) : 8));
      const mine = new Map<number, bigint>();
      for (let key = map.nextKey(undefined); key; key = map.nextKey(key)) mine.set(new DataView(key.buffer, key.byteOffset).getUint32(0, true), total(map.read(key)!, 8));
      assert.deepEqual([...mine].sort((a, b) => a[0] - b[0]), [...kernel].sort((a, b) => a[0] - b[0]), `${c.name} contents`);
      compared++;
    }
  }
  process.stdout.write(`# map helpers: ${compared} results and map contents compared with the kernel\n`);
});
