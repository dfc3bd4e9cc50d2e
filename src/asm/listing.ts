// Whole-program listings: llvm-objdump's layout (addresses, raw bytes, symbols, source lines,
// relocations) for the llvm syntax, the verifier log's `N: (xx) ...` lines for the kernel syntax.

import type { ByteOrder } from '../isa/decode.js';
import { resolveReferences } from '../isa/encode.js';
import { type Instruction, slotOffsets, type SourceLine } from '../isa/instruction.js';
import { matchEntry, PseudoCall } from '../isa/opcodes.js';
import { type FormatOptions, formatInstruction } from './format.js';
import { helperName } from './kernel-syntax.js';

/** A relocation to show under its instruction, as `llvm-objdump -r` does. */
export interface ListingRelocation {
  /** Byte offset in the section of the instruction it patches. */
  readonly offset: number;
  /** The ELF relocation type name (`R_BPF_64_64`). */
  readonly type: string;
  /** The symbol it refers to. */
  readonly symbol: string;
}

/** Options of `disassemble`. */
export interface DisassembleOptions extends FormatOptions {
  /** Print the `Disassembly of section NAME:` heading (llvm syntax). */
  section?: string;
  /** Show each instruction's bytes, like llvm-objdump (default true; llvm syntax only). */
  rawBytes?: boolean;
  /** Byte order of the raw bytes (default `le`). */
  byteOrder?: ByteOrder;
  /** Interleave C source lines from `insn.source`, like `llvm-objdump -S` (default false). */
  source?: boolean;
  /** Append the helper's name to helper calls: `call 0x1 ; bpf_map_lookup_elem` (default false). */
  helperNames?: boolean;
  /** Relocations to print under their instructions, like `llvm-objdump -r`. */
  relocations?: readonly ListingRelocation[];
}

/** The slot a jump or BPF-to-BPF call goes to, or undefined for other instructions. */
function jumpTarget(insn: Instruction, slot: number, annotateCalls: boolean): number | undefined {
  const e = matchEntry(insn.code, insn.src, insn.off, insn.imm);
  if (!e) return undefined;
  if (e.kind === 'jmp' || e.kind === 'ja' || e.kind === 'may_goto') return slot + 1 + insn.off;
  if (e.kind === 'gotol') return slot + 1 + insn.imm;
  // llvm-objdump-16 does not annotate calls; bpfkit's own syntax names the callee.
  if (annotateCalls && e.name === 'call.func') return slot + 1 + insn.imm;
  return undefined;
}

/** The raw bytes of an instruction, as llvm-objdump shows them (valid or not). */
export function instructionBytes(insn: Instruction, byteOrder: ByteOrder = 'le'): Uint8Array {
  const le = byteOrder === 'le';
  const wide = insn.code === 0x18 && insn.imm2 !== undefined;
  const out = new Uint8Array(wide ? 16 : 8);
  const view = new DataView(out.buffer);
  out[0] = insn.code;
  out[1] = le ? ((insn.src & 15) << 4) | (insn.dst & 15) : ((insn.dst & 15) << 4) | (insn.src & 15);
  view.setInt16(2, insn.off, le);
  view.setInt32(4, insn.imm | 0, le);
  if (wide) view.setInt32(12, insn.imm2! | 0, le);
  return out;
}

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
const addr16 = (n: number): string => n.toString(16).padStart(16, '0');

/**
 * Formats a whole instruction list. In llvm syntax the layout is llvm-objdump's for one
 * section: a `<symbol>:` line (with its byte address) before each instruction carrying a
 * `symbol`, then `slot:\tbytes\ttext` lines; jumps are annotated with their target symbol
 * (`goto +0x3 <LBB0_2>`, or `<func+0x50>` when no symbol starts there). Code references
 * (`goto 'out'` from the builder) are resolved first. In kernel syntax each line is the
 * verifier log's `slot: (xx) text`. Returns lines joined with `\n`, ending with a newline.
 */
export function disassemble(insns: readonly Instruction[], options: DisassembleOptions = {}): string {
  const kernel = options.syntax === 'kernel';
  let resolved: readonly Instruction[] = insns;
  try {
    resolved = resolveReferences(insns);
  } catch {
    // Unresolvable references print as the names they carry.
  }
  const slotOf = slotOffsets(resolved);
  const symbolAt = new Map<number, string>();
  resolved.forEach((insn, i) => {
    if (insn.symbol !== undefined) symbolAt.set(slotOf[i]!, insn.symbol);
  });
  const symbolSlots = [...symbolAt.keys()].sort((a, b) => a - b);
  const describe = (slot: number): string | undefined => {
    const exact = symbolAt.get(slot);
    if (exact !== undefined) return exact;
    let base: number | undefined;
    for (const s of symbolSlots) if (s <= slot) base = s;
    return base === undefined ? undefined : `${symbolAt.get(base)}+0x${((slot - base) * 8).toString(16)}`;
  };
  const relocs = new Map<number, ListingRelocation[]>();
  for (const r of options.relocations ?? []) relocs.set(r.offset, [...(relocs.get(r.offset) ?? []), r]);

  const out: string[] = [];
  if (!kernel && options.section !== undefined) out.push(`Disassembly of section ${options.section}:`);
  let lastSource: SourceLine | undefined;
  resolved.forEach((insn, i) => {
    const slot = slotOf[i]!;
    const target = jumpTarget(insn, slot, options.llvm16 !== true);
    const e = matchEntry(insn.code, insn.src, insn.off, insn.imm);
    const isCodeRef = target !== undefined || (e?.kind === 'call' && e.src === PseudoCall.CALL);
    const shown = isCodeRef && insn.reference !== undefined && symbolAt.size > 0 ? { ...insn, reference: undefined } : insn;
    let text = formatInstruction(shown, options);
    if (kernel) {
      if (options.source && insn.source && !sameLine(insn.source, lastSource)) {
        out.push(`; ${insn.source.text.trim()} @ ${insn.source.file}:${insn.source.line}`);
        lastSource = insn.source;
      }
      out.push(`${slot}: ${text}`);
      return;
    }
    if (insn.symbol !== undefined || (i === 0 && options.section !== undefined)) {
      out.push('', `${addr16(slot * 8)} <${insn.symbol ?? options.section}>:`);
    }
    if (options.source && insn.source && insn.source.line !== 0 && !sameLine(insn.source, lastSource)) {
      out.push(`; ${insn.source.text}`);
      lastSource = insn.source;
    }
    const label = target === undefined || text === '<unknown>' ? undefined : describe(target);
    if (label !== undefined) text += ` <${label}>`;
    if (options.helperNames && e?.name === 'call.helper') {
      const name = helperName(insn.imm);
      if (name !== undefined) text += ` ; ${name}`;
    }
    const bytes = options.rawBytes === false ? '' : `${hex(instructionBytes(insn, options.byteOrder))}\t`;
    out.push(`${String(slot).padStart(8)}:\t${bytes}${text}`);
    for (const r of relocs.get(slot * 8) ?? []) out.push(`\t\t${addr16(r.offset)}:  ${r.type}\t${r.symbol}`);
  });
  return `${out.join('\n')}\n`;
}

function sameLine(a: SourceLine, b: SourceLine | undefined): boolean {
  return b !== undefined && a.line === b.line && a.file === b.file;
}

/** One section of an object, for `formatObjdump`. */
export interface ListingSection {
  /** Section name (`xdp`, `.text`). */
  readonly name: string;
  /** Its instructions. */
  readonly insns: readonly Instruction[];
  /** Its relocations, for `-r`. */
  readonly relocations?: readonly ListingRelocation[];
}

/**
 * llvm-objdump's complete output for an object: the `FILE:\tfile format elf64-bpf` header,
 * then each code section as `disassemble` lays it out.
 */
export function formatObjdump(fileName: string, sections: readonly ListingSection[], options: DisassembleOptions = {}): string {
  const parts = [`\n${fileName}:\tfile format elf64-bpf\n`];
  for (const s of sections) {
    parts.push(`\n${disassemble(s.insns, { ...options, syntax: 'llvm', section: s.name, relocations: options.relocations ?? s.relocations })}`);
  }
  return parts.join('');
}
