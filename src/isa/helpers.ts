// Helper functions: ids and names from the kernel enum, prototypes in the verifier's vocabulary.
import { BpfkitError } from '../errors.js';
import { BpfArgType, BpfFuncId, BpfReturnType, BpfTypeFlag } from './uapi.generated.js';
import { CHANGES_PKT_DATA, RAW_HELPER_PROTOS, type RawHelperProto } from './helper-protos.js';
import { programTypeByName, programTypeName, type ProgramTypeName } from './program-types.js';

/** A name of the kernel's `enum bpf_arg_type` (`'ARG_PTR_TO_MEM'`). */
export type ArgTypeName = keyof typeof BpfArgType;
/** A name of the kernel's `enum bpf_return_type` (`'RET_INTEGER'`). */
export type ReturnTypeName = keyof typeof BpfReturnType;
/** A name of the kernel's `enum bpf_type_flag` (`'MEM_RDONLY'`, `'PTR_MAYBE_NULL'`). */
export type TypeFlagName = keyof typeof BpfTypeFlag;
/** A helper name without the `bpf_` prefix, as in `enum bpf_func_id` (`'map_lookup_elem'`). */
export type HelperName = Exclude<keyof typeof BpfFuncId, 'unspec'>;

/**
 * A type in a helper prototype, decomposed the way the verifier sees it: a base type
 * (`value & 0xff`, the kernel's BPF_BASE_TYPE_MASK) plus flags. `ARG_PTR_TO_UNINIT_MEM`
 * decomposes to base `ARG_PTR_TO_MEM`, flags `MEM_UNINIT`, `MEM_WRITE`.
 */
export interface ProtoType<B extends string> {
  /** As the kernel's proto writes it: `'ARG_PTR_TO_MEM | MEM_RDONLY'`. */
  readonly text: string;
  /** The base type. */
  readonly base: B;
  /** The flags OR-ed into the base, in bit order. */
  readonly flags: readonly TypeFlagName[];
  /** The combined value in this kernel's numbering (kernel-internal; for comparisons only). */
  readonly value: number;
}

/** One argument of a helper prototype. */
export interface HelperArg extends ProtoType<ArgTypeName> {
  /** Fixed size in bytes for `ARG_PTR_TO_FIXED_SIZE_MEM` (the proto's `.argN_size`). */
  readonly size?: number;
}

/** The return type of a helper prototype. */
export type HelperRet = ProtoType<ReturnTypeName>;

/** One kernel `struct bpf_func_proto` and the program types that get it for this helper. */
export interface HelperProto {
  /** The kernel's variable name (`'bpf_xdp_redirect_proto'`). */
  readonly kernelName: string;
  /** `.ret_type`. */
  readonly ret: HelperRet;
  /** `.arg1_type` ... `.arg5_type` (R1..R5), only those set. */
  readonly args: readonly HelperArg[];
  /** `.gpl_only`: callable only from programs with a GPL-compatible license. */
  readonly gplOnly: boolean;
  /** `.pkt_access`: packet pointers are accepted as memory arguments. */
  readonly pktAccess: boolean;
  /** `.might_sleep`: callable only from sleepable programs. */
  readonly mightSleep: boolean;
  /** `.ret_btf_id` of a RET_PTR_TO_BTF_ID return: the kernel struct the result points to. */
  readonly retBtf?: string;
  /** Program types whose get_func_proto() returns this prototype. */
  readonly progTypes: readonly ProgramTypeName[];
}

/** A helper function: id and name from `enum bpf_func_id`, and its prototypes. */
export interface Helper {
  /** `BPF_FUNC_*` value, the `imm` of a helper call. */
  readonly id: number;
  /** Name without `bpf_` (`'map_lookup_elem'`). */
  readonly name: HelperName;
  /** Whether the verifier invalidates packet pointers after the call (bpf_helper_changes_pkt_data). */
  readonly changesPktData: boolean;
  /** The prototypes bpfkit models; empty when the helper has none here (never allowed). */
  readonly protos: readonly HelperProto[];
}

/** A helper prototype row names a type or flag missing from the kernel's enums (a table bug). */
export class HelperProtoError extends BpfkitError {
  constructor(message: string) {
    super('ERR_HELPER_PROTO', message);
  }
}

const BASE_TYPE_MASK = 0xff;

function flagNames(bits: number): TypeFlagName[] {
  const out: TypeFlagName[] = [];
  for (const [name, bit] of Object.entries(BpfTypeFlag) as [TypeFlagName, number][]) {
    if ((bits & bit) !== 0 && (bit & (bit - 1)) === 0) out.push(name);
  }
  return out;
}

function baseName<B extends string>(enumObj: Readonly<Record<B, number>>, base: number, where: string): B {
  for (const [name, value] of Object.entries(enumObj) as [B, number][]) {
    if (value === base) return name;
  }
  throw new HelperProtoError(`${where}: no base type with value ${base}`);
}

function parseType<B extends string>(enumObj: Readonly<Record<B, number>>, text: string, where: string): ProtoType<B> {
  const parts = text.split('|').map((p) => p.trim());
  const head = parts[0] ?? '';
  if (!(head in enumObj)) throw new HelperProtoError(`${where}: ${head} is not in this kernel's enum`);
  let value = enumObj[head as B];
  for (const flag of parts.slice(1)) {
    if (!(flag in BpfTypeFlag)) throw new HelperProtoError(`${where}: ${flag} is not a bpf_type_flag`);
    value |= BpfTypeFlag[flag as TypeFlagName];
  }
  return { text, base: baseName(enumObj, value & BASE_TYPE_MASK, where), flags: flagNames(value & ~BASE_TYPE_MASK), value };
}

function parseArg(spec: string, where: string): HelperArg {
  const colon = spec.indexOf(':');
  if (colon < 0) return parseType(BpfArgType, spec, where);
  return { ...parseType(BpfArgType, spec.slice(0, colon), where), size: Number(spec.slice(colon + 1)) };
}

function parseProto(raw: RawHelperProto): HelperProto {
  const where = `helper ${raw.helper} (${raw.proto})`;
  if (raw.args.length > 5) throw new HelperProtoError(`${where}: more than 5 arguments`);
  return {
    kernelName: raw.proto,
    ret: parseType(BpfReturnType, raw.ret, where),
    args: raw.args.map((a, i) => parseArg(a, `${where} arg${i + 1}`)),
    gplOnly: raw.gpl === true,
    pktAccess: raw.pkt === true,
    mightSleep: raw.sleep === true,
    ...(raw.retBtf !== undefined ? { retBtf: raw.retBtf } : {}),
    progTypes: raw.progs,
  };
}

function build(): { byId: Map<number, Helper>; byName: Map<string, Helper> } {
  const protos = new Map<string, HelperProto[]>();
  for (const raw of RAW_HELPER_PROTOS) {
    if (!(raw.helper in BpfFuncId)) throw new HelperProtoError(`helper ${raw.helper}: not in this kernel's bpf_func_id`);
    const list = protos.get(raw.helper) ?? [];
    const proto = parseProto(raw);
    for (const t of proto.progTypes) {
      if (list.some((p) => p.progTypes.includes(t))) throw new HelperProtoError(`helper ${raw.helper}: two protos for ${t}`);
    }
    list.push(proto);
    protos.set(raw.helper, list);
  }
  const byId = new Map<number, Helper>();
  const byName = new Map<string, Helper>();
  for (const [name, id] of Object.entries(BpfFuncId) as [keyof typeof BpfFuncId, number][]) {
    if (name === 'unspec') continue;
    const helper: Helper = Object.freeze({
      id,
      name,
      changesPktData: CHANGES_PKT_DATA.includes(name),
      protos: Object.freeze(protos.get(name) ?? []),
    });
    byId.set(id, helper);
    byName.set(name, helper);
  }
  return { byId, byName };
}

const table = build();

/** Every helper of `enum bpf_func_id`, by id (those without a modelled prototype have `protos: []`). */
export const HELPERS: readonly Helper[] = [...table.byId.values()];

/** The helper with this `BPF_FUNC_*` id, or undefined. */
export function helperById(id: number): Helper | undefined {
  return table.byId.get(id);
}

/** The helper called `name`, with or without the `bpf_` prefix (`'bpf_map_lookup_elem'`). */
export function helperByName(name: string): Helper | undefined {
  return table.byName.get(name) ?? (name.startsWith('bpf_') ? table.byName.get(name.slice(4)) : undefined);
}

function resolveHelper(helper: Helper | number | string): Helper | undefined {
  if (typeof helper === 'number') return helperById(helper);
  if (typeof helper === 'string') return helperByName(helper);
  return helper;
}

function resolveProgType(progType: ProgramTypeName | number | string): ProgramTypeName | undefined {
  if (typeof progType === 'number') {
    const name = programTypeName(progType);
    return programTypeByName(name) === undefined ? undefined : (name as ProgramTypeName);
  }
  return programTypeByName(progType) === undefined ? undefined : (progType.toLowerCase() as ProgramTypeName);
}

/**
 * The prototype the kernel's get_func_proto() would return for `helper` in a program of
 * `progType` (a name such as `'xdp'` or a BpfProgType value), or undefined when the call is
 * not allowed (or not modelled).
 */
export function helperProto(helper: Helper | number | string, progType: ProgramTypeName | number | string): HelperProto | undefined {
  const h = resolveHelper(helper);
  const t = resolveProgType(progType);
  if (h === undefined || t === undefined) return undefined;
  return h.protos.find((p) => p.progTypes.includes(t));
}

/** Whether a program of `progType` may call `helper` (see {@link helperProto}). */
export function helperAllowed(helper: Helper | number | string, progType: ProgramTypeName | number | string): boolean {
  return helperProto(helper, progType) !== undefined;
}

/** The helpers a program of `progType` may call, by id. */
export function helpersFor(progType: ProgramTypeName | number | string): Helper[] {
  return HELPERS.filter((h) => helperAllowed(h, progType));
}

/** The C-like signature of a prototype for messages: `RET_INTEGER bpf_redirect(ARG_ANYTHING, ARG_ANYTHING)`. */
export function formatHelperProto(helper: Helper, proto: HelperProto): string {
  const args = proto.args.map((a) => (a.size === undefined ? a.text : `${a.text} [${a.size}]`));
  return `${proto.ret.text} bpf_${helper.name}(${args.join(', ')})`;
}
