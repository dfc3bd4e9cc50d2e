// Target kernels: what a particular kernel permits where it differs from the upstream 6.18 model bpfkit carries.
import { mapTypeName } from '../isa/map-types.js';
import { programTypeName } from '../isa/program-types.js';
import type { MapDef } from '../maps/map-ops.js';

/**
 * What a target kernel permits: program types, map types, helpers per program type, kfuncs per
 * program type. Each question is optional (unanswered: the upstream model decides) and may only
 * take away what the upstream 6.18 model allows — a build with a feature disabled. The kernel
 * layer's `hostTarget(sys)` answers for the running kernel by probing it (as `bpftool feature
 * probe` does); a test or a browser can give recorded answers.
 */
export interface VerifierTarget {
  /** Names the target in messages: `host 6.18.44`. */
  readonly name: string;
  /** Whether the target loads programs of `programType` at all. */
  programTypeAllowed?(programType: number): boolean;
  /** Whether the target creates maps of `mapType`. */
  mapTypeAllowed?(mapType: number): boolean;
  /** Whether programs of `programType` may call helper `helperId` there. */
  helperAllowed?(programType: number, helperId: number): boolean;
  /** Whether programs of `programType` may call kfunc `kfunc` there. */
  kfuncAllowed?(programType: number, kfunc: string): boolean;
}

/**
 * The target's refusal of the program before any instruction is checked: its type, or a map it
 * uses (the kernel fails BPF_MAP_CREATE or BPF_PROG_LOAD before the verifier runs); undefined
 * when the target takes both.
 */
export function targetRefusal(target: VerifierTarget, programType: number, maps: Iterable<MapDef>): string | undefined {
  if (target.programTypeAllowed && !target.programTypeAllowed(programType)) {
    return `bpfkit: the target kernel (${target.name}) does not load programs of type ${programTypeName(programType)}`;
  }
  if (target.mapTypeAllowed) {
    for (const m of maps) {
      if (!target.mapTypeAllowed(m.type)) return `bpfkit: the target kernel (${target.name}) has no map type ${mapTypeName(m.type)} (map '${m.name}')`;
    }
  }
  return undefined;
}
