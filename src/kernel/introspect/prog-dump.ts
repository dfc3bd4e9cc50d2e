// `bpftool prog dump xlated|jited`: a loaded program's translated instructions in kernel syntax, and its JIT bytes.
import { formatInstruction } from '../../asm/index.js';
import { decode } from '../../isa/decode.js';
import { type Instruction, slotOffsets } from '../../isa/instruction.js';
import { PseudoCall, PseudoLd } from '../../isa/opcodes.js';
import { OBJ_INFO_ATTR, PROG_INFO } from '../bpf-attr.generated.js';
import { BpfCmd } from '../bpf/constants.js';
import type { Fd } from '../fd.js';
import { StructWriter } from '../struct-codec.js';
import type { Sys } from '../sys.js';
import { programCode } from './info-buffers.js';

/** One line of an xlated dump, as `bpftool prog dump xlated -j` gives it (`disasm` without the index). */
export interface XlatedLine {
  /** Slot index. */
  readonly pc: number;
  /** `(85) call bpf_map_lookup_elem#125232`, bpftool's text. */
  readonly disasm: string;
  /** The decoded instruction. */
  readonly insn: Instruction;
}

const kallsymsCache = new WeakMap<Sys, Map<bigint, string>>();

/**
 * /proc/kallsyms as address -> name (first name per address), cached per Sys (`refresh` re-reads
 * it: JITed programs add `bpf_prog_<tag>_<name>` symbols as they load); empty when unreadable.
 */
export function kallsyms(sys: Sys, refresh = false): Map<bigint, string> {
  let syms = refresh ? undefined : kallsymsCache.get(sys);
  if (!syms) {
    syms = new Map();
    try {
      const text = new TextDecoder().decode(sys.readFile('/proc/kallsyms'));
      for (const line of text.split('\n')) {
        const sp1 = line.indexOf(' ');
        const sp2 = line.indexOf(' ', sp1 + 1);
        if (sp1 < 0 || sp2 < 0) continue;
        const addr = BigInt(`0x${line.slice(0, sp1)}`);
        if (addr === 0n) continue;
        const end = line.indexOf('\t', sp2 + 1);
        const name = line.slice(sp2 + 1, end < 0 ? undefined : end);
        if (!syms.has(addr)) syms.set(addr, name);
      }
    } catch {
      // No kallsyms: calls print with their raw immediates.
    }
    kallsymsCache.set(sys, syms);
  }
  return syms;
}

function jitedKsyms(fd: Fd<'prog'>, count: number): bigint[] {
  if (count === 0) return [];
  const buf = new Uint8Array(count * 8);
  const info = new StructWriter(PROG_INFO).u32('nr_jited_ksyms', count).ptr('jited_ksyms', buf, 'out');
  const attr = new StructWriter(OBJ_INFO_ATTR).u32('bpf_fd', fd.raw).u32('info_len', info.bytes.length).ptr('info', info.bytes, 'inout', info.pointers);
  fd.sys.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr.bytes, attr.pointers);
  const dv = new DataView(buf.buffer);
  return Array.from({ length: count }, (_, i) => dv.getBigUint64(i * 8, true));
}

function nrJitedKsyms(fd: Fd<'prog'>): number {
  const info = new StructWriter(PROG_INFO);
  const attr = new StructWriter(OBJ_INFO_ATTR).u32('bpf_fd', fd.raw).u32('info_len', info.bytes.length).ptr('info', info.bytes, 'inout');
  fd.sys.bpf(BpfCmd.OBJ_GET_INFO_BY_FD, attr.bytes, attr.pointers);
  return new DataView(info.bytes.buffer).getUint32(PROG_INFO.fields.nr_jited_ksyms.offset, true);
}

/**
 * The program's translated instructions in the kernel's syntax, printed as bpftool prints them:
 * maps as `map[id:N]` / `map[id:N][0]+off`, helper and kfunc calls by their kallsyms name and
 * raw immediate (`call bpf_get_current_task#-76912`), BPF-to-BPF calls as
 * `call pc+18#bpf_prog_<tag>_<name>` when JITed.
 */
export function dumpXlated(fd: Fd<'prog'>): XlatedLine[] {
  const code = programCode(fd);
  const insns = decode(code.xlated, { strict: false }); // the kernel stores subprog indexes in call offsets
  const ksyms = jitedKsyms(fd, nrJitedKsyms(fd));
  let syms = kallsyms(fd.sys);
  if (ksyms.some((a) => !syms.has(a))) syms = kallsyms(fd.sys, true);
  const callBase = [...syms].find(([, n]) => n === '__bpf_call_base')?.[0];
  const callbacks = {
    call(insn: Instruction): string | undefined {
      if (insn.src === PseudoCall.CALL) {
        // In the dump of a JITed program the kernel keeps the relative offset in `off` and
        // the subprogram's index in `imm` (bpftool's print_call_pcrel).
        const target = ksyms[insn.imm];
        const name = target === undefined ? undefined : syms.get(target);
        const rel = insn.off >= 0 ? `+${insn.off}` : String(insn.off);
        return name ? `${rel}#${name}` : ksyms.length ? rel : undefined;
      }
      if (callBase === undefined) return undefined;
      return syms.get(BigInt.asUintN(64, callBase + BigInt(insn.imm)));
    },
    imm(insn: Instruction, value: bigint): string {
      if (insn.src === PseudoLd.MAP_FD) return `map[id:${insn.imm >>> 0}]`;
      if (insn.src === PseudoLd.MAP_VALUE) return `map[id:${insn.imm >>> 0}][0]+${(insn.imm2 ?? 0) >>> 0}`;
      // A callback's address (bpf_loop...): bpftool prints the subprogram's offset, "subprog[%+d]".
      if (insn.src === PseudoLd.FUNC) return `subprog[${insn.imm < 0 ? '' : '+'}${insn.imm}]`;
      return `0x${value.toString(16)}`;
    },
  };
  const slots = slotOffsets(insns);
  return insns.map((insn, i) => ({ pc: slots[i]!, insn, disasm: formatInstruction(insn, { syntax: 'kernel', callbacks }) }));
}

/** The xlated dump as bpftool's text (`   0: (b7) r0 = 2`), one line per instruction. */
export function formatXlated(lines: readonly XlatedLine[]): string {
  return lines.map((l) => `${String(l.pc).padStart(4)}: ${l.disasm}\n`).join('');
}

/** The JITed machine code, per function. */
export interface JitedDump {
  /** All of it. */
  readonly bytes: Uint8Array;
  /** Each function's bytes, entry first, with its kallsyms name when known. */
  readonly functions: readonly { readonly name: string | undefined; readonly bytes: Uint8Array }[];
}

/** The program's JIT image, split per function (bpftool needs libbfd to disassemble it; bpfkit gives the bytes). */
export function dumpJited(fd: Fd<'prog'>): JitedDump {
  const code = programCode(fd);
  const ksyms = jitedKsyms(fd, code.jitedFuncLens.length);
  let syms = kallsyms(fd.sys);
  if (ksyms.some((a) => !syms.has(a))) syms = kallsyms(fd.sys, true);
  const functions: { name: string | undefined; bytes: Uint8Array }[] = [];
  let at = 0;
  const lens = code.jitedFuncLens.length ? code.jitedFuncLens : [code.jited.length];
  lens.forEach((len, i) => {
    const addr = ksyms[i];
    functions.push({ name: addr === undefined ? undefined : syms.get(addr), bytes: code.jited.subarray(at, at + len) });
    at += len;
  });
  return { bytes: code.jited, functions };
}
