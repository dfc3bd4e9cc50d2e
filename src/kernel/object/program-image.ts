// A ProgramSpec turned into what BPF_PROG_LOAD takes: CO-RE applied, maps/kfuncs/ksyms resolved, func/line info records.
import { applyCoreRelos, type CoreReloOutcome } from '../../btf/core-patch.js';
import { StringTableBuilder, type Btf } from '../../btf/index.js';
import type { ProgramSpec } from '../../elf/object-spec.js';
import { encode } from '../../isa/encode.js';
import { type Instruction, LDDW, slotOffsets } from '../../isa/instruction.js';
import { PseudoCall, PseudoLd } from '../../isa/opcodes.js';
import { BpfkitError } from '../../errors.js';
import type { BtfExtRecords } from '../bpf/prog-load.js';
import { KernelSymbolError } from './errors.js';

const CALL = 0x85;

/** What resolving a program's references needs. */
export interface ImageContext {
  /** The object's BTF as loaded (for CO-RE and line info strings), if any. */
  readonly btf: Btf | undefined;
  /** Raw fd of each map, by spec name. */
  readonly mapFd: (name: string) => number | undefined;
  /** The kernel's BTF, fetched lazily (only when a program needs it). */
  readonly vmlinux: () => Btf;
  /** Externs declared weak (missing is allowed). */
  readonly weakExterns: ReadonlySet<string>;
}

/** The loadable form of one program. */
export interface ProgramImage {
  /** Instructions after every rewrite (for the verifier and for comparisons). */
  readonly instructions: readonly Instruction[];
  /** Encoded bytes. */
  readonly insns: Uint8Array;
  /** `struct bpf_func_info` records (8 bytes each), when the object has BTF. */
  readonly funcInfo: BtfExtRecords | undefined;
  /** `struct bpf_line_info` records (16 bytes each). */
  readonly lineInfo: BtfExtRecords | undefined;
  /** What each CO-RE relocation did. */
  readonly coreOutcomes: readonly CoreReloOutcome[];
}

function kernelFuncId(vmlinux: Btf, name: string): number | undefined {
  return vmlinux.typesByName(name).find((t) => t.kind === 'func')?.id;
}

/** The fd-independent part of an image, kept per ProgramSpec: a reload only patches map fds. */
interface ImageTemplate {
  /** The BTF the template was built with (line info strings come from it). */
  readonly btf: Btf | undefined;
  /** Encoded bytes with every map fd imm still to patch. */
  readonly insns: Uint8Array;
  /** Byte offset of each map fd imm, with its instruction index and map name. */
  readonly fdPatches: readonly { readonly at: number; readonly index: number; readonly map: string }[];
  readonly funcInfo: BtfExtRecords | undefined;
  readonly lineInfo: BtfExtRecords | undefined;
}

const templates = new WeakMap<ProgramSpec, ImageTemplate>();

const isMapLoad = (insn: Instruction): boolean => insn.code === LDDW && (insn.src === PseudoLd.MAP_FD || insn.src === PseudoLd.MAP_VALUE);

/** The instruction with its map fd, or the not-created error. */
function withMapFd(prog: ProgramSpec, ctx: ImageContext, insn: Instruction, i: number): Instruction {
  const fd = ctx.mapFd(insn.reference!);
  if (fd === undefined) throw new BpfkitError('ERR_OBJECT_INVALID', `program "${prog.name}": instruction ${i} refers to map "${insn.reference}", which was not created`);
  return { ...insn, imm: fd };
}

/**
 * Builds the image of `prog`. Map loads get the map's fd (map_value keeps its offset), kfunc
 * calls the FUNC id in vmlinux BTF, ksym loads the VAR id; CO-RE relocations are applied against
 * vmlinux first. Func info and line info are rebuilt with slot offsets of the linked program.
 *
 * Loading the same spec again is cheap: for programs without CO-RE, kfunc or ksym references
 * (whose image depends only on the map fds), the encoded bytes, func info and line info are kept
 * per ProgramSpec and only the map fds are patched in.
 */
export function buildProgramImage(prog: ProgramSpec, ctx: ImageContext): ProgramImage {
  const t = templates.get(prog);
  if (t !== undefined && t.btf === ctx.btf) {
    const instructions = prog.instructions.map((insn, i) => (insn.reference !== undefined && isMapLoad(insn) ? withMapFd(prog, ctx, insn, i) : insn));
    const insns = new Uint8Array(t.insns); // a copy
    const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
    for (const p of t.fdPatches) dv.setInt32(p.at, (instructions[p.index] as Instruction).imm | 0, true);
    return { instructions, insns, funcInfo: t.funcInfo, lineInfo: t.lineInfo, coreOutcomes: [] };
  }
  const { image, slots, usesVmlinux } = buildFresh(prog, ctx);
  if (prog.coreRelos.length === 0 && !usesVmlinux) {
    const fdPatches = [];
    for (const [i, insn] of image.instructions.entries()) {
      if (insn.reference !== undefined && isMapLoad(insn)) fdPatches.push({ at: slots[i]! * 8 + 4, index: i, map: insn.reference });
    }
    templates.set(prog, { btf: ctx.btf, insns: new Uint8Array(image.insns), fdPatches, funcInfo: image.funcInfo, lineInfo: image.lineInfo });
  }
  return image;
}

function buildFresh(prog: ProgramSpec, ctx: ImageContext): { image: ProgramImage; slots: Uint32Array; usesVmlinux: boolean } {
  let usesVmlinux = false;
  const vmlinux = (): Btf => {
    usesVmlinux = true;
    return ctx.vmlinux();
  };
  let insns: readonly Instruction[] = prog.instructions;
  let coreOutcomes: CoreReloOutcome[] = [];
  if (prog.coreRelos.length > 0) {
    if (!ctx.btf) throw new BpfkitError('ERR_CORE_RELO', `program "${prog.name}" has CO-RE relocations but the object has no BTF`);
    const r = applyCoreRelos(ctx.btf, vmlinux(), insns, prog.coreRelos);
    insns = r.instructions;
    coreOutcomes = r.outcomes;
  }
  const out = insns.map((insn, i): Instruction => {
    if (insn.reference === undefined) return insn;
    if (isMapLoad(insn)) return withMapFd(prog, ctx, insn, i);
    if (insn.code === CALL && insn.src === PseudoCall.KFUNC_CALL) {
      const id = kernelFuncId(vmlinux(), insn.reference);
      if (id === undefined) {
        if (ctx.weakExterns.has(insn.reference)) return { ...insn, imm: 0, off: 0 };
        throw new KernelSymbolError(insn.reference, 'kfunc', `called by program "${prog.name}" at instruction ${i}`);
      }
      return { ...insn, imm: id, off: 0 };
    }
    if (insn.code === LDDW && insn.src === PseudoLd.BTF_ID) {
      const v = vmlinux().typesByName(insn.reference).find((t) => t.kind === 'var');
      if (!v) {
        if (ctx.weakExterns.has(insn.reference)) return { ...insn, src: PseudoLd.IMM64, imm: 0, imm2: 0 };
        throw new KernelSymbolError(insn.reference, 'ksym', `loaded by program "${prog.name}" at instruction ${i}`);
      }
      return { ...insn, imm: v.id, imm2: 0 };
    }
    return insn;
  });
  const bytes = encode(out);
  const slots = slotOffsets(out);
  let funcInfo: BtfExtRecords | undefined;
  let lineInfo: BtfExtRecords | undefined;
  if (ctx.btf && prog.funcInfo.length > 0) {
    const data = new Uint8Array(prog.funcInfo.length * 8);
    const dv = new DataView(data.buffer);
    prog.funcInfo.forEach((f, n) => {
      dv.setUint32(n * 8, slots[f.insn]!, true);
      dv.setUint32(n * 8 + 4, f.typeId, true);
    });
    funcInfo = { recordSize: 8, data };
    lineInfo = buildLineInfo(out, slots, ctx.btf);
  }
  return { image: { instructions: out, insns: bytes, funcInfo, lineInfo, coreOutcomes }, slots, usesVmlinux };
}

/**
 * One `bpf_line_info` per instruction that starts a source line (the linker keeps `source`
 * exactly where BTF.ext had a record). String offsets are found in the object's string table;
 * undefined when a string is missing there (the program then loads without line info).
 */
const stringIndexes = new WeakMap<Btf, StringTableBuilder>();

function buildLineInfo(insns: readonly Instruction[], slots: Uint32Array, btf: Btf): BtfExtRecords | undefined {
  // One string index per Btf (building it walks the whole string table); strings it lacks get
  // offsets past the table, which is how a missing one is detected below.
  let strings = stringIndexes.get(btf);
  if (!strings) stringIndexes.set(btf, (strings = new StringTableBuilder(btf.strings.bytes)));
  const tableSize = btf.strings.bytes.length;
  const records: number[][] = [];
  for (const [i, insn] of insns.entries()) {
    const src = insn.source;
    if (!src) continue;
    const file = strings.add(src.file);
    const line = strings.add(src.text);
    if (file >= tableSize || line >= tableSize) return undefined;
    records.push([slots[i]!, file, line, (src.line << 10) | (src.column & 0x3ff)]);
  }
  if (records.length === 0) return undefined;
  const data = new Uint8Array(records.length * 16);
  const dv = new DataView(data.buffer);
  records.forEach((r, n) => r.forEach((v, k) => dv.setUint32(n * 16 + k * 4, v >>> 0, true)));
  return { recordSize: 16, data };
}
