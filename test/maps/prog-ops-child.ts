// Child process of prog-ops.test.ts: pinned to one CPU (taskset), it runs map helper calls from BPF programs
// (BPF_PROG_TEST_RUN) on a kernel map and the same calls through MapOps' program side on a bpfkit map.
// Usage: BPFKIT_CPU=c taskset -c c node --import tsx test/maps/prog-ops-child.ts OPS TYPE:MAX_ENTRIES:SEED...
import { alu64, call, exit, jmp, label, ld, ldx, program, stx } from '../../src/isa/builder.js';
import { encode } from '../../src/isa/encode.js';
import { mapTypeName } from '../../src/isa/map-types.js';
import { BpfMapFlags, BpfMapType, BpfProgType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { lookupElem, updateElem } from '../../src/kernel/bpf/map-elem.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import { loadProgram, type ProgFd } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { createKernelSys } from '../../src/kernel/koffi-sys.js';
import { LruHashMap } from '../../src/maps/lru.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { prng } from '../support/mutate.js';

const cpu = Number(process.env.BPFKIT_CPU ?? 0);
const sys = createKernelSys();
const cpus = possibleCpus(sys);

function run(type: number, maxEntries: number, seed: number, nOps: number): string[] {
  const flags = type === BpfMapType.ARRAY || type === BpfMapType.PERCPU_ARRAY ? 0 : BpfMapFlags.ZERO_SEED;
  const kmap = createKernelMap(sys, { type, keySize: 4, valueSize: 8, maxEntries, flags });
  const space = new AddressSpace();
  const ours = createMap({ name: 'm', type, keySize: 4, valueSize: 8, maxEntries, flags }, { space, cpus });
  const perCpu = ours.perCpu;
  if (ours instanceof LruHashMap) ours.userCpu = cpu;

  // Key in skb->mark (offset 8), value in skb->priority (offset 32), both set through ctx_in.
  const keyToStack = [ldx.w(6, 1, 8), stx.w(10, -4, 6), ldx.w(7, 1, 32), stx.dw(10, -16, 7)];
  const load = (insns: ReturnType<typeof program>): ProgFd => loadProgram(sys, { type: BpfProgType.SOCKET_FILTER, license: 'GPL', insns: encode(insns) });
  const UPDATE_FLAGS = [BpfUpdateFlags.ANY, BpfUpdateFlags.NOEXIST, BpfUpdateFlags.EXIST, BpfUpdateFlags.F_LOCK, BpfUpdateFlags.F_LOCK | BpfUpdateFlags.NOEXIST, 8];
  const updateProgs = UPDATE_FLAGS.map((f) =>
    load(program(keyToStack, ld.map_fd(1, kmap.raw), alu64.mov.reg(2, 10), alu64.add.imm(2, -4), alu64.mov.reg(3, 10), alu64.add.imm(3, -16), alu64.mov.imm(4, f), call.helper('map_update_elem'), exit())),
  );
  // Lookup: returns the value's low 32 bits + 1 (0 when absent), after adding 1000 to it through the pointer.
  const lookupProg = load(
    program(
      keyToStack,
      ld.map_fd(1, kmap.raw),
      alu64.mov.reg(2, 10),
      alu64.add.imm(2, -4),
      call.helper('map_lookup_elem'),
      jmp.jeq.imm(0, 0, 'miss'),
      ldx.w(1, 0, 0),
      alu64.add.imm(1, 1000),
      stx.w(0, 0, 1),
      alu64.mov.reg(0, 1),
      exit(),
      label('miss'),
      alu64.mov.imm(0, 0),
      exit(),
    ),
  );
  const deleteProg = load(program(keyToStack, ld.map_fd(1, kmap.raw), alu64.mov.reg(2, 10), alu64.add.imm(2, -4), call.helper('map_delete_elem'), exit()));

  const rng = prng(seed);
  const packet = new Uint8Array(64);
  const keyReg = space.addRegion('key', 4);
  const valReg = space.addRegion('value', 8);
  const hex = (b: Uint8Array | undefined) => (b === undefined ? '-' : Buffer.from(b).toString('hex'));
  const mismatches: string[] = [];
  for (let i = 0; i < nOps && mismatches.length < 5; i++) {
    const key = rng.int(maxEntries * 2 + 1);
    const value = rng.int(1 << 30);
    const ctx = new Uint8Array(36);
    const dv = new DataView(ctx.buffer);
    dv.setUint32(8, key, true);
    dv.setUint32(32, value, true);
    const mem = space.memory.view;
    mem.setUint32(keyReg.start, key, true);
    mem.setBigUint64(valReg.start, BigInt(value), true);
    const r = rng.int(10);
    let what: string;
    let a: number;
    let b: number;
    if (r < 5) {
      const which = rng.chance(0.85) ? rng.int(3) : rng.int(UPDATE_FLAGS.length);
      const f = UPDATE_FLAGS[which]!;
      a = testRun(updateProgs[which]!, { dataIn: packet, ctxIn: ctx }).retval | 0;
      b = ours.update(space.memory.bytes, keyReg.start, space.memory.bytes, valReg.start, f, cpu);
      what = `program update ${key}=${value} flags ${f}`;
    } else if (r < 8) {
      a = testRun(lookupProg, { dataIn: packet, ctxIn: ctx }).retval | 0;
      const p = ours.lookup(space.memory.bytes, keyReg.start, cpu);
      if (p === 0) b = 0;
      else {
        const v = new DataView(space.read(p, 4).buffer).getUint32(0, true) + 1000;
        const w = new Uint8Array(4);
        new DataView(w.buffer).setUint32(0, v, true);
        space.write(p, w);
        b = v | 0;
      }
      what = `program lookup+store ${key}`;
    } else if (r < 9) {
      a = testRun(deleteProg, { dataIn: packet, ctxIn: ctx }).retval | 0;
      b = ours.delete(space.memory.bytes, keyReg.start);
      what = `program delete ${key}`;
    } else {
      const v = new Uint8Array(perCpu ? 8 * cpus : 8).map(() => rng.int(256));
      const k = new Uint8Array(4);
      new DataView(k.buffer).setUint32(0, key, true);
      a = 0;
      try {
        updateElem(kmap, k, v, 0);
      } catch (e) {
        a = -(e as { errno: number }).errno;
      }
      b = ours.write(k, v, 0);
      what = `user update ${key}`;
    }
    if (a !== b) mismatches.push(`#${i} ${what}: kernel ${a} ours ${b}`);
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, key, true);
    const ka = hex(lookupElem(kmap, k));
    const kb = hex(ours.read(k));
    if (ka !== kb) mismatches.push(`#${i} after ${what}: kernel value ${ka} ours ${kb}`);
  }
  for (const p of [...updateProgs, lookupProg, deleteProg]) p.close();
  kmap.close();
  return mismatches.map((m) => `${mapTypeName(type)} (${maxEntries} entries): ${m}`);
}

// Arguments: OPS then TYPE:MAX_ENTRIES:SEED triples.
const nOps = Number(process.argv[2]);
const mismatches: string[] = [];
let ops = 0;
for (const spec of process.argv.slice(3)) {
  const [type, maxEntries, seed] = spec.split(':').map(Number) as [number, number, number];
  mismatches.push(...run(type, maxEntries, seed, nOps));
  ops += nOps;
}
process.stdout.write(JSON.stringify({ ops, mismatches }) + '\n');
