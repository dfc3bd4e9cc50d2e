// Child process of lru.test.ts: run pinned to one CPU (taskset), it drives a kernel LRU map and a bpfkit one with the same operations.
// Usage: [BPFKIT_CPU=c] [BPFKIT_PROGRAM_LOOKUPS=1] taskset -c c node --import tsx test/maps/lru-diff-child.ts TYPE:FLAGS:MAX_ENTRIES:SEED:OPS...
import { alu64, call, exit, jmp, label, ld, ldx, program, stx } from '../../src/isa/builder.js';
import { encode } from '../../src/isa/encode.js';
import { BpfProgType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { loadProgram } from '../../src/kernel/bpf/prog-load.js';
import { testRun } from '../../src/kernel/bpf/prog-test-run.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { deleteElem, keys, lookupElem, updateElem } from '../../src/kernel/bpf/map-elem.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { createKernelSys } from '../../src/kernel/koffi-sys.js';
import type { LruHashMap } from '../../src/maps/lru.js';
import { createMap } from '../../src/maps/registry.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { prng } from '../support/mutate.js';

const sys = createKernelSys();
const cpus = possibleCpus(sys);
const cpu = Number(process.env.BPFKIT_CPU ?? 0);
const withProgram = process.env.BPFKIT_PROGRAM_LOOKUPS === '1';

function run(type: number, flags: number, maxEntries: number, seed: number, nOps: number): string[] {
  const kmap = createKernelMap(sys, { type, keySize: 4, valueSize: 8, maxEntries, flags });
  const ours = createMap({ name: 'lru', type, keySize: 4, valueSize: 8, maxEntries, flags }, { space: new AddressSpace(), cpus }) as LruHashMap;
  ours.userCpu = cpu;
  const percpu = ours.perCpu;
  const rng = prng(seed);
  const hex = (b: Uint8Array | undefined) => (b === undefined ? '-' : Buffer.from(b).toString('hex'));
  const errno = (fn: () => unknown): number => {
    try {
      fn();
      return 0;
    } catch (e) {
      if (e instanceof KernelError) return -e.errno;
      throw e;
    }
  };
  // A socket filter that looks up the key in skb->mark (set through ctx_in) and returns whether it
  // was found: a program-side lookup, which sets the element's reference bit in the kernel.
  const lookupProg = loadProgram(sys, {
    type: BpfProgType.SOCKET_FILTER,
    license: 'GPL',
    insns: encode(
      program(
        ldx.w(6, 1, 8),
        stx.w(10, -4, 6),
        ld.map_fd(1, kmap.raw),
        alu64.mov.reg(2, 10),
        alu64.add.imm(2, -4),
        call.helper('map_lookup_elem'),
        jmp.jeq.imm(0, 0, 'miss'),
        alu64.mov.imm(0, 1),
        exit(),
        label('miss'),
        alu64.mov.imm(0, 0),
        exit(),
      ),
    ),
  });
  const packet = new Uint8Array(64);
  const mismatches: string[] = [];
  const size = percpu ? 8 * cpus : 8;
  for (let i = 0; i < nOps && mismatches.length < 5; i++) {
    const k = new Uint8Array(4);
    new DataView(k.buffer).setUint32(0, rng.int(maxEntries * 3), true);
    const r = rng.int(10);
    let what: string;
    if (r < 6) {
      const v = new Uint8Array(size).map(() => rng.int(256));
      const f = rng.pick([BpfUpdateFlags.ANY, BpfUpdateFlags.ANY, BpfUpdateFlags.NOEXIST, BpfUpdateFlags.EXIST]);
      const a = errno(() => updateElem(kmap, k, v, f));
      const b = ours.write(k, v, f);
      what = `update ${hex(k)} flags ${f}: kernel ${a} ours ${b}`;
      if (a !== b) mismatches.push(`#${i} ${what}`);
    } else if (r < 8) {
      const a = errno(() => {
        if (!deleteElem(kmap, k)) throw new KernelError('delete', 2);
      });
      const b = ours.delete(k, 0);
      what = `delete ${hex(k)}: kernel ${a} ours ${b}`;
      if (a !== b) mismatches.push(`#${i} ${what}`);
    } else if (r === 8 && withProgram) {
      const ctx = new Uint8Array(12);
      ctx.set(k, 8);
      const a = testRun(lookupProg, { dataIn: packet, ctxIn: ctx }).retval;
      const b = ours.lookup(k, 0, cpu) === 0 ? 0 : 1;
      what = `program lookup ${hex(k)}: kernel ${a} ours ${b}`;
      if (a !== b) mismatches.push(`#${i} ${what}`);
    } else {
      const a = hex(lookupElem(kmap, k));
      const b = hex(ours.read(k));
      what = `lookup ${hex(k)}: kernel ${a} ours ${b}`;
      if (a !== b) mismatches.push(`#${i} ${what}`);
    }
    const ka = [...keys(kmap)].map(hex);
    const kb: string[] = [];
    for (let x = ours.nextKey(undefined); x; x = ours.nextKey(x)) kb.push(hex(x));
    if (ka.join() !== kb.join()) mismatches.push(`#${i} after ${what}: kernel keys [${ka.join(' ')}] ours [${kb.join(' ')}]`);
  }
  const finalKeys = [...keys(kmap)].length;
  lookupProg.close();
  kmap.close();
  if (finalKeys === 0 || finalKeys > maxEntries) mismatches.push(`${finalKeys} keys at the end`);
  return mismatches.map((m) => `type ${type} flags ${flags} max ${maxEntries}: ${m}`);
}

// Arguments: TYPE:FLAGS:MAX_ENTRIES:SEED:OPS...
const mismatches: string[] = [];
let ops = 0;
for (const spec of process.argv.slice(2)) {
  const [type, flags, maxEntries, seed, nOps] = spec.split(':').map(Number) as [number, number, number, number, number];
  mismatches.push(...run(type, flags, maxEntries, seed, nOps));
  ops += nOps;
}
process.stdout.write(JSON.stringify({ ops, mismatches }) + '\n');
