// Bytes -> Instructions, rejecting every encoding the kernel would reject.

import { InvalidInstructionError } from './errors.js';
import { type Instruction, LDDW } from './instruction.js';
import { type OpcodeEntry, matchEntry, OPCODES_BY_CODE } from './opcodes.js';

/** Byte order of an object: `le` for `-target bpfel`/`bpf` on x86, `be` for `bpfeb`. */
export type ByteOrder = 'le' | 'be';

/** Options for `decode`. */
export interface DecodeOptions {
  /** Byte order of the instruction stream (default `le`). */
  byteOrder?: ByteOrder;
  /**
   * Strict (default): throw InvalidInstructionError on any encoding the kernel rejects.
   * Lenient: keep such instructions as they are (a torn `lddw` becomes one slot) so that a
   * disassembler can print them with a fallback.
   */
  strict?: boolean;
  /** Slot index of the first instruction, for error messages (default 0). */
  baseIndex?: number;
  /**
   * Keep instructions naming registers r11..r15 even when strict: the kernel's verifier, not its
   * loader, refuses them ("R15 is invalid"), so an object loader keeps them for the verifier.
   */
  anyRegister?: boolean;
}

const MAX_REG = 10;

/**
 * Checks an instruction's fields against its table entry: the fields the kernel calls
 * "reserved" must be zero, registers must exist. Returns the reason it is invalid, or
 * undefined when it is valid.
 */
export function invalidReason(insn: Instruction, entry: OpcodeEntry | undefined = matchEntry(insn.code, insn.src, insn.off, insn.imm), anyRegister = false): string | undefined {
  if (!entry) return describeUnknown(insn);
  const f = entry.fields;
  const maxReg = anyRegister ? 15 : MAX_REG;
  if (f.dst === 'zero' && insn.dst !== 0) return `${entry.name} uses reserved fields: dst_reg must be 0, got ${insn.dst}`;
  if (f.dst === 'reg' && insn.dst > maxReg) return `${entry.name}: dst_reg r${insn.dst} does not exist`;
  if (f.src === 'zero' && insn.src !== 0) return `${entry.name} uses reserved fields: src_reg must be 0, got ${insn.src}`;
  if (f.src === 'reg' && insn.src > maxReg) return `${entry.name}: src_reg r${insn.src} does not exist`;
  if (f.off === 'zero' && insn.off !== 0) return `${entry.name} uses reserved fields: offset must be 0, got ${insn.off}`;
  if (f.imm === 'zero' && insn.imm !== 0) return `${entry.name} uses reserved fields: imm must be 0, got ${insn.imm}`;
  if (entry.kind === 'addr_space_cast' && insn.imm !== 1 && insn.imm !== 1 << 16) {
    return `addr_space_cast: imm must be 1 or 0x10000, got 0x${(insn.imm >>> 0).toString(16)}`;
  }
  return undefined;
}

function describeUnknown(insn: Instruction): string {
  const candidates = OPCODES_BY_CODE[insn.code & 0xff]!;
  if (candidates.length === 0) return 'unknown opcode';
  const first = candidates[0]!;
  switch (first.kind) {
    case 'atomic':
      return `invalid atomic operation 0x${(insn.imm >>> 0).toString(16)} for this size`;
    case 'call':
      return `call with unknown pseudo source ${insn.src}`;
    case 'lddw':
      return `lddw with unknown pseudo source ${insn.src}`;
    case 'end':
    case 'bswap':
      return `byte swap width must be 16, 32 or 64, got ${insn.imm}`;
    case 'may_goto':
      return `jcond with unknown source ${insn.src}`;
    default:
      return `offset ${insn.off} is not valid for this opcode`;
  }
}

/**
 * Decodes a raw instruction stream. `lddw` becomes a single instruction carrying `imm2`.
 * Throws InvalidInstructionError (naming the slot index) for a length that is not a multiple
 * of 8, an unknown opcode, a reserved field set, or an `lddw` cut in half.
 */
export function decode(bytes: Uint8Array, options: DecodeOptions = {}): Instruction[] {
  const le = (options.byteOrder ?? 'le') === 'le';
  const strict = options.strict ?? true;
  const base = options.baseIndex ?? 0;
  const anyRegister = options.anyRegister ?? false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const total = Math.floor(bytes.byteLength / 8);
  if (bytes.byteLength % 8 !== 0 && strict) {
    throw new InvalidInstructionError(base + total, bytes[total * 8] ?? 0, `instruction stream of ${bytes.byteLength} bytes is not a multiple of 8 (${bytes.byteLength % 8} trailing bytes)`);
  }
  const out: Instruction[] = [];
  for (let slot = 0; slot < total; slot++) {
    const at = slot * 8;
    const code = bytes[at]!;
    const regs = bytes[at + 1]!;
    const dst = le ? regs & 0x0f : regs >> 4;
    const src = le ? regs >> 4 : regs & 0x0f;
    const off = view.getInt16(at + 2, le);
    const imm = view.getInt32(at + 4, le);
    if (code === LDDW) {
      const next = at + 8;
      let reason: string | undefined;
      if (slot + 1 >= total) reason = 'lddw is cut in half: its second slot is missing';
      else if (bytes[next] !== 0 || bytes[next + 1] !== 0 || view.getInt16(next + 2, le) !== 0) {
        reason = 'invalid lddw: the second slot must have opcode, registers and offset 0';
      }
      if (reason === undefined) {
        const insn: Instruction = { code, dst, src, off, imm, imm2: view.getInt32(next + 4, le) };
        if (strict) {
          const why = invalidReason(insn, undefined, anyRegister);
          if (why) throw new InvalidInstructionError(base + slot, code, why);
        }
        out.push(insn);
        slot++;
        continue;
      }
      if (strict) throw new InvalidInstructionError(base + slot, code, reason);
      out.push({ code, dst, src, off, imm });
      continue;
    }
    const insn: Instruction = { code, dst, src, off, imm };
    if (strict) {
      const why = invalidReason(insn, undefined, anyRegister);
      if (why) throw new InvalidInstructionError(base + slot, code, why);
    }
    out.push(insn);
  }
  return out;
}
