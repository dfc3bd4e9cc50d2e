// Program types a user gives (`--type`, `programType`): bpftool's names, the kernel's names or
// BPF_PROG_TYPE values, applied to an ObjectSpec the way `bpftool prog load OBJ PIN type T` does.

import type { AttachTypeName } from '../isa/attach-types.js';
import { PROGRAM_TYPE_NAMES, programTypeByName, programTypeName, type ProgramTypeName } from '../isa/program-types.js';
import { ProgramTypeTargetError, UnknownProgramTypeError, UntypedProgramError } from './errors.js';
import type { ObjectSpec, ProgramSpec } from './object-spec.js';
import { legacySectionType, matchSection, SECTION_DEFS } from './section-defs.js';

/** One program type: a name (`'xdp'`, `'classifier'`, `'sched_cls'`, `'cgroup/skb'`) or a BPF_PROG_TYPE value. */
export type ProgramTypeInput = string | number;

/**
 * The `programType` option: one type for every program (bpftool's `type T`), or a type per
 * program name (`{ xdp_pass: 'xdp', sock_len: 'socket' }`; programs not named keep the type
 * their section gives them).
 */
export type ProgramTypeOption = ProgramTypeInput | Readonly<Record<string, ProgramTypeInput>>;

/** A program type resolved as bpftool resolves `type T`. */
export interface ResolvedProgramType {
  /** Program type name (`'sched_cls'`). */
  readonly progType: ProgramTypeName;
  /** BPF_PROG_TYPE value. */
  readonly progTypeValue: number;
  /** Expected attach type bpftool passes with it (`xdp` for `type xdp`), undefined for none (0). */
  readonly attachType: AttachTypeName | undefined;
  /** Its value, undefined for none. */
  readonly attachTypeValue: number | undefined;
}

let validNames: readonly string[] | undefined;

/**
 * Every name `--type` accepts: libbpf's section names as bpftool takes them (`socket`,
 * `classifier`, `action`, `xdp`, `cgroup/skb`, `kprobe`...), then the kernel's program type
 * names bpftool prints (`socket_filter`, `sched_cls`, `sched_act`...).
 */
export function programTypeNames(): readonly string[] {
  if (!validNames) {
    const names = new Set<string>();
    for (const d of SECTION_DEFS) names.add(d.prefix);
    for (const n of PROGRAM_TYPE_NAMES) if (n !== 'unspec') names.add(n);
    validNames = Object.freeze([...names]);
  }
  return validNames;
}

function byValue(value: number, given: ProgramTypeInput): ResolvedProgramType {
  const name = programTypeName(value);
  if (!Number.isInteger(value) || value <= 0 || name.startsWith('type ')) throw new UnknownProgramTypeError(given, programTypeNames());
  return { progType: name as ProgramTypeName, progTypeValue: value, attachType: undefined, attachTypeValue: undefined };
}

/**
 * Resolves a type the way bpftool resolves `prog load ... type T`: libbpf_prog_type_by_name(T)
 * (the section-name table, first match wins), then the same with a `/` appended (`kprobe`,
 * `tracepoint`); bpfkit also takes the kernel's names (`sched_cls`, `socket_filter`, which
 * bpftool prints but does not accept; no expected attach type) and BPF_PROG_TYPE values.
 * `resolveProgramType('classifier')` -> sched_cls; `resolveProgramType('xdp')` -> xdp with
 * expected attach type xdp. Anything else throws UnknownProgramTypeError listing the valid names.
 */
export function resolveProgramType(input: ProgramTypeInput): ResolvedProgramType {
  if (typeof input === 'number') return byValue(input, input);
  const name = input.trim();
  if (name !== '') {
    const m = matchSection(name) ?? matchSection(`${name}/`);
    if (m) {
      return {
        progType: m.progType,
        progTypeValue: m.progTypeValue,
        attachType: m.attachType,
        attachTypeValue: m.attachType === undefined ? undefined : m.attachTypeValue,
      };
    }
    const value = name.toLowerCase() === 'unspec' ? undefined : programTypeByName(name);
    if (value !== undefined) return byValue(value, input);
    if (/^\d+$/.test(name)) return byValue(Number(name), input);
  }
  throw new UnknownProgramTypeError(input, programTypeNames());
}

/**
 * `spec` with the program types of `option` applied, as bpftool applies `type T`
 * (bpf_program__set_type + set_expected_attach_type): the type and expected attach type are
 * replaced on every program named (all of them for a single type), also where the section
 * already gives a type — `--type classifier` on SEC("xdp") loads it as sched_cls, and a warning
 * says so. When the type differs from the section's, libbpf forgets the section's definition,
 * so its load flags (sleepable, XDP frags) and BTF attach target are dropped too. A per-program
 * entry for a program the object lacks throws ProgramTypeTargetError.
 */
export function applyProgramType(spec: ObjectSpec, option: ProgramTypeOption | undefined): ObjectSpec {
  if (option === undefined) return spec;
  const perProgram = typeof option === 'object' ? option : undefined;
  if (perProgram) {
    const names = spec.programs.map((p) => p.name);
    for (const n of Object.keys(perProgram)) if (!names.includes(n)) throw new ProgramTypeTargetError(n, names);
  }
  const warnings = [...spec.warnings];
  const programs = spec.programs.map((p): ProgramSpec => {
    const given = perProgram ? perProgram[p.name] : (option as ProgramTypeInput);
    if (given === undefined) return p;
    const r = resolveProgramType(given);
    const section = matchSection(p.section);
    const sameType = section !== undefined && section.progTypeValue === r.progTypeValue;
    if (section && !sameType) {
      warnings.push(`section "${p.section}": program "${p.name}" is loaded as ${r.progType} (the type given), not ${section.progType} (the section's), as bpftool's "type" does`);
    }
    const out: { -readonly [K in keyof ProgramSpec]: ProgramSpec[K] } = { ...p, type: r.progTypeValue, flags: sameType ? p.flags : 0 };
    delete out.expectedAttachType;
    if (r.attachTypeValue !== undefined) out.expectedAttachType = r.attachTypeValue;
    if (!sameType) delete out.attachTo;
    return out;
  });
  return { ...spec, programs, warnings };
}

/**
 * Throws UntypedProgramError when `program` has no type (its section name is one libbpf 1.x
 * cannot type and no `programType` / `--type` was given); a no-op otherwise.
 */
export function assertProgramTyped(program: ProgramSpec): void {
  if (program.type === 0) throw new UntypedProgramError(program.name, program.section, legacySectionType(program.section));
}
