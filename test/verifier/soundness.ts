// Soundness check of a verdict: a program the verifier accepted runs in the checked interpreter on
// random packets and random map contents; a single MemoryFault means the verifier let an unsafe
// program through.
import { formatInstruction } from '../../src/asm/format.js';
import type { MapSpec, ObjectSpec, ProgramSpec } from '../../src/elf/object-spec.js';
import { BpfkitError } from '../../src/errors.js';
import type { Instruction } from '../../src/isa/index.js';
import { BpfMapType } from '../../src/isa/uapi.generated.js';
import type { MapDef } from '../../src/maps/map-ops.js';
import { loadUserspace } from '../../src/runtime/userspace-object.js';
import { BudgetExceeded, MemoryFault } from '../../src/vm/errors.js';
import { prng, type Rng } from '../support/mutate.js';
import { referencedMaps } from './kernel-oracle.js';

/** What running an accepted program showed. */
export interface SoundnessOutcome {
  /** `fault`: a MemoryFault (a verifier bug); `not-runnable`: the runtime cannot run it (a helper or map type it lacks). */
  readonly kind: 'ok' | 'fault' | 'not-runnable' | 'budget' | 'runtime-error';
  /** Runs completed. */
  readonly runs: number;
  /** The fault or error message. */
  readonly detail?: string;
}

function mapSpec(d: MapDef): MapSpec {
  return { name: d.name, type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: d.maxEntries, flags: d.flags, pinning: 'none', initEntries: [], readOnly: false, section: '.maps', origin: 'btf' };
}

/** A one-program ObjectSpec around `insns`, with the maps it names. */
export function singleProgramObject(type: number, insns: readonly Instruction[], maps: ReadonlyMap<string, MapDef>): ObjectSpec {
  const names = referencedMaps(insns);
  const program: ProgramSpec = {
    name: 'prog', section: 'prog', type, flags: 0, license: 'GPL', kernelVersion: 0, instructions: insns, ownInsnCount: insns.length,
    sectionOffset: 0, funcInfo: [], coreRelos: [], maps: names, externs: [],
  };
  return {
    byteOrder: 'le', license: 'GPL', kernelVersion: 0, programs: [program],
    maps: names.map((n) => mapSpec(maps.get(n)!)), externs: [], sections: [], warnings: [],
  };
}

/** Random bytes biased to the values that break bounds: zeros, small numbers, all-ones. */
const EDGE64 = [0n, 1n, 7n, 8n, 40n, 47n, 48n, 63n, 64n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x100000001n, 0xfffffff0n, 0x100000010n, 1n << 63n, (1n << 63n) - 1n, (1n << 64n) - 1n, (1n << 64n) - 16n];

function fill(r: Rng, bytes: Uint8Array): void {
  const mode = r.int(5);
  if (mode === 4) {
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i + 8 <= bytes.length; i += 8) v.setBigUint64(i, r.pick(EDGE64), true);
    return;
  }
  for (let i = 0; i < bytes.length; i++) bytes[i] = mode === 0 ? 0 : mode === 1 ? (i % 8 === 0 ? r.int(72) : 0) : mode === 2 ? 0xff : r.int(256);
}

/**
 * Runs the program `runs` times on random packets (14..256 bytes) and random map contents
 * (the zero key present or not, so NULL and non-NULL lookups both happen).
 */
export function runAccepted(type: number, insns: readonly Instruction[], maps: ReadonlyMap<string, MapDef>, seed: number, runs = 8): SoundnessOutcome {
  return runInObject(singleProgramObject(type, insns, maps), 'prog', seed, runs);
}

/**
 * Runs program `name` of `spec` (a compiled object, possibly with a mutated program) `runs`
 * times on random packets and random contents of its array and hash maps.
 */
export function runInObject(spec: ObjectSpec, name: string, seed: number, runs = 8): SoundnessOutcome {
  const r = prng(seed);
  let obj;
  try {
    obj = loadUserspace(spec, { verify: false, budget: 200_000, programs: [name] });
  } catch (err) {
    if (err instanceof BpfkitError) return { kind: 'not-runnable', runs: 0, detail: err.message };
    throw err;
  }
  try {
    const prog = obj.program(name);
    for (let i = 0; i < runs; i++) {
      for (const ops of obj.mapOps.values()) {
        const d = ops.def;
        if ((d.type !== BpfMapType.ARRAY && d.type !== BpfMapType.HASH) || d.name.startsWith('.')) continue;
        const key = new Uint8Array(d.keySize);
        const value = new Uint8Array(d.valueSize);
        for (let k = 0; k < Math.min(d.maxEntries, 4); k++) {
          key.fill(0);
          new DataView(key.buffer).setUint32(0, k, true);
          fill(r, value);
          if (d.type === BpfMapType.HASH && r.chance(0.4)) ops.delete(key, 0);
          else ops.write(key, value, 0);
        }
      }
      const packet = new Uint8Array(14 + r.int(243));
      fill(r, packet);
      try {
        prog.testRun({ data: packet });
      } catch (err) {
        if (err instanceof MemoryFault) return { kind: 'fault', runs: i, detail: err.message };
        if (err instanceof BudgetExceeded) return { kind: 'budget', runs: i, detail: err.message };
        if (err instanceof BpfkitError) return { kind: 'runtime-error', runs: i, detail: err.message };
        throw err;
      }
    }
    return { kind: 'ok', runs };
  } finally {
    obj[Symbol.dispose]?.();
  }
}

/** A listing of `insns` in the kernel log's syntax, for fault reports. */
export function listing(insns: readonly Instruction[]): string {
  return insns.map((x, i) => `  ${String(i).padStart(4)}: ${safeFormat(x)}${x.symbol ? `    <${x.symbol}>` : ''}${x.reference ? `    -> ${x.reference}` : ''}`).join('\n');
}

function safeFormat(x: Instruction): string {
  try {
    return formatInstruction(x, { syntax: 'kernel' });
  } catch {
    return `(code 0x${x.code.toString(16)} dst ${x.dst} src ${x.src} off ${x.off} imm ${x.imm})`;
  }
}
