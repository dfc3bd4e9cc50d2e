// `bpfkit disasm OBJ`: each program as it will be loaded (subprograms linked), in llvm-objdump's
// syntax or the kernel verifier log's, with C source lines from BTF.

import { disassemble } from '../asm/listing.js';
import { formatInstruction } from '../asm/format.js';
import { instructionBytes } from '../asm/listing.js';
import { slotOffsets } from '../isa/instruction.js';
import { PseudoCall, PseudoLd } from '../isa/opcodes.js';
import type { KernelCallbacks } from '../asm/kernel-syntax.js';
import { programTypeName } from '../isa/program-types.js';
import { type CommandArgs, type OptionSpec, TYPE_OPTION } from './args.js';
import { UsageError } from './errors.js';
import { readObject } from './load-file.js';
import { type Io, json } from './output.js';

/** Usage text of `disasm`. */
export const disasmUsage =
  'bpfkit disasm OBJ [--prog NAME] [--type TYPE] [--source|-S] [--syntax llvm|kernel] [--decimal] [--no-raw] [--helper-names] [--json|-j]';

/** Options of `disasm`. */
export const disasmOptions: OptionSpec = {
  prog: { type: 'string' },
  source: { type: 'boolean', short: 'S' },
  syntax: { type: 'string' },
  decimal: { type: 'boolean' },
  'no-raw': { type: 'boolean' },
  'helper-names': { type: 'boolean' },
  ...TYPE_OPTION,
};

/** Runs `disasm`. */
export function disasm(args: CommandArgs, io: Io): number {
  const file = args.positional(0, 'OBJ', disasmUsage);
  args.done(disasmUsage);
  const syntax = args.value('syntax') ?? 'llvm';
  if (syntax !== 'llvm' && syntax !== 'kernel') throw new UsageError(`--syntax must be llvm or kernel, got '${syntax}'`, disasmUsage);
  const spec = readObject(file, args.programType(disasmUsage));
  const wanted = args.value('prog');
  const programs = wanted === undefined ? spec.programs : spec.programs.filter((p) => p.name === wanted);
  if (wanted !== undefined && programs.length === 0) {
    throw new UsageError(`no program named '${wanted}' in ${file} (programs: ${spec.programs.map((p) => p.name).join(', ') || 'none'})`, disasmUsage);
  }
  // Name maps and kfuncs by the loader's references, as bpftool names them by id.
  const callbacks: KernelCallbacks = {
    imm: (insn, value) =>
      insn.reference === undefined
        ? `0x${BigInt.asUintN(64, value).toString(16)}`
        : insn.src === PseudoLd.MAP_VALUE
          ? `map[${insn.reference}][0]+${insn.imm2 ?? 0}`
          : insn.src === PseudoLd.MAP_FD
            ? `map[${insn.reference}]`
            : insn.reference,
    call: (insn) => (insn.src === PseudoCall.KFUNC_CALL && insn.reference !== undefined ? insn.reference : undefined),
  };
  const opts = {
    callbacks,
    syntax: syntax as 'llvm' | 'kernel',
    hex: !args.flag('decimal'),
    source: args.flag('source'),
    rawBytes: !args.flag('no-raw'),
    helperNames: args.flag('helper-names'),
    byteOrder: spec.byteOrder,
  };
  if (args.json) {
    io.out(
      json(
        programs.map((p) => {
          const slots = slotOffsets(p.instructions);
          return {
            name: p.name,
            section: p.section,
            type: programTypeName(p.type),
            insns: p.instructions.map((insn, i) => ({
              pc: slots[i],
              ...(insn.symbol !== undefined ? { symbol: insn.symbol } : {}),
              opcodes: Array.from(instructionBytes(insn, spec.byteOrder), (b) => b.toString(16).padStart(2, '0')).join(' '),
              text: formatInstruction(insn, opts),
              ...(insn.reference !== undefined ? { reference: insn.reference } : {}),
              ...(insn.source !== undefined ? { source: { file: insn.source.file, line: insn.source.line, column: insn.source.column, text: insn.source.text } } : {}),
            })),
          };
        }),
        args.pretty,
      ),
    );
    return 0;
  }
  const parts = programs.map((p) => {
    const head = syntax === 'kernel' ? `${p.name} (section ${p.section}, ${programTypeName(p.type)}):\n` : '';
    return head + disassemble(p.instructions, { ...opts, ...(syntax === 'llvm' ? { section: p.section } : {}) });
  });
  io.out(parts.join('\n'));
  return 0;
}
