// Functions of executable sections, their relocations, and linking a program with the
// subprograms it calls, in the order libbpf appends them (depth-first, where first referenced).

import type { Btf, BtfExt } from '../btf/index.js';
import { BpfkitError } from '../errors.js';
import { decode, type ByteOrder } from '../isa/decode.js';
import { type Instruction, LDDW, type SourceLine } from '../isa/instruction.js';
import { PseudoCall, PseudoLd } from '../isa/opcodes.js';
import type { ElfFile, ElfSection, ElfSymbol } from './elf-file.js';
import { R_BPF_64_32, R_BPF_64_64, SHN_UNDEF, STB_LOCAL, STT_FUNC, STT_SECTION } from './elf-constants.js';
import { ObjectError } from './object-error.js';
import type { ProgramCoreRelo, ProgramFuncInfo } from './object-spec.js';

const CALL = 0x85;

/** One function (program entry or subprogram) of an executable section. */
export interface Func {
  /** Unique name used as symbol/reference when linking (the symbol name, made unique). */
  key: string;
  /** Symbol name. */
  readonly name: string;
  /** The section holding it. */
  readonly section: ElfSection;
  /** First slot (8-byte instruction) inside the section. */
  readonly startSlot: number;
  /** Number of slots. */
  readonly slotCount: number;
  /** Decoded instructions; relocation replaces entries. */
  readonly insns: Instruction[];
  /** Section-relative slot -> index into `insns` (-1 for the second half of an lddw). */
  readonly slotToIndex: Int32Array;
  /** Whether the symbol is global (programs must be; `.text` functions may be static). */
  readonly global: boolean;
  /** Maps referenced, in first-use order. */
  readonly maps: string[];
  /** Externs referenced. */
  readonly externs: string[];
}

/** Where a relocated lddw points, given the symbol's section. */
export interface RelocTargets {
  /** Map name defined at `offset` of map section `sectionIndex`, if any. */
  mapAt(sectionIndex: number, offset: number): string | undefined;
  /** Global-data map name of a data section, if it is one. */
  dataMap(sectionIndex: number): string | undefined;
  /** Extern kind and kconfig offset for an undefined symbol. */
  extern(name: string): { kind: 'kconfig' | 'ksym'; offset?: number } | undefined;
}

function buildSlotIndex(insns: readonly Instruction[], slotCount: number): Int32Array {
  const map = new Int32Array(slotCount).fill(-1);
  let slot = 0;
  insns.forEach((insn, i) => {
    map[slot] = i;
    slot += insn.code === LDDW ? 2 : 1;
  });
  return map;
}

/**
 * Splits every executable section into functions by its STT_FUNC symbols and decodes them.
 * A section without function symbols (hand-written assembly) is one function named after it.
 */
export function collectFunctions(elf: ElfFile, execSections: readonly ElfSection[], byteOrder: ByteOrder): Func[] {
  const funcs: Func[] = [];
  const usedKeys = new Set<string>();
  for (const sec of execSections) {
    const data = sec.data();
    const syms = elf.symbols.filter((s) => s.shndx === sec.index && s.type === STT_FUNC && s.name !== '').sort((a, b) => Number(a.value - b.value));
    const ranges: { name: string; start: number; size: number; global: boolean }[] = syms.length
      ? syms.map((s) => ({ name: s.name, start: Number(s.value), size: Number(s.size), global: s.bind !== STB_LOCAL }))
      : [{ name: sec.name, start: 0, size: sec.size, global: true }];
    for (const r of ranges) {
      if (r.start % 8 !== 0 || r.size % 8 !== 0) throw new ObjectError(`function "${r.name}" at offset ${r.start} with size ${r.size} is not aligned to whole instructions`, sec.name, r.start);
      if (r.start + r.size > sec.size) throw new ObjectError(`function "${r.name}" (${r.size} bytes) runs past the end of the section (${sec.size} bytes)`, sec.name, r.start);
      if (r.size === 0) continue;
      let insns: Instruction[];
      try {
        insns = decode(data.subarray(r.start, r.start + r.size), { byteOrder, baseIndex: r.start / 8, anyRegister: true });
      } catch (e) {
        throw e instanceof BpfkitError ? e.withContext(`section "${sec.name}": function "${r.name}"`) : e;
      }
      let key = r.name;
      if (usedKeys.has(key)) key = `${sec.name}/${r.name}`;
      usedKeys.add(key);
      funcs.push({
        key,
        name: r.name,
        section: sec,
        startSlot: r.start / 8,
        slotCount: r.size / 8,
        insns,
        slotToIndex: buildSlotIndex(insns, r.size / 8),
        global: r.global,
        maps: [],
        externs: [],
      });
    }
  }
  return funcs;
}

function funcAt(funcs: readonly Func[], sectionIndex: number, slot: number): Func | undefined {
  return funcs.find((f) => f.section.index === sectionIndex && slot >= f.startSlot && slot < f.startSlot + f.slotCount);
}

function noteUse(list: string[], name: string): void {
  if (!list.includes(name)) list.push(name);
}

/**
 * Applies the relocations of every executable section: map and global-data loads, BPF-to-BPF
 * calls and callback addresses, kfunc calls and extern loads. Instructions are rewritten the
 * way libbpf rewrites them (pseudo source set, `reference` = the map/function/extern name);
 * resolving names to fds and BTF ids is the backend's job.
 */
export function applyRelocations(elf: ElfFile, funcs: Func[], targets: RelocTargets): void {
  const execIndexes = new Set(funcs.map((f) => f.section.index));
  for (const rs of elf.relocations) {
    const target = rs.target;
    if (!target || !execIndexes.has(target.index)) continue;
    rs.entries.forEach((rel, n) => {
      const where = `relocation ${n}`;
      const off = Number(rel.offset);
      if (off % 8 !== 0) throw new ObjectError(`${where}: offset ${off} is not at an instruction boundary`, target.name, off);
      const slot = off / 8;
      const fn = funcAt(funcs, target.index, slot);
      if (!fn) throw new ObjectError(`${where}: no function contains instruction ${slot}`, target.name, off);
      const idx = fn.slotToIndex[slot - fn.startSlot]!;
      if (idx < 0) throw new ObjectError(`${where}: points into the middle of an lddw`, target.name, off);
      const sym: ElfSymbol | undefined = elf.symbols[rel.symbol];
      if (!sym) throw new ObjectError(`${where}: symbol ${rel.symbol} does not exist`, target.name, off);
      const insn = fn.insns[idx]!;
      fn.insns[idx] = relocate(funcs, targets, insn, sym, rel.type, `${where} (against "${sym.name || `#${rel.symbol}`}")`, target.name, off, fn, (i) => elf.sections[i]?.size ?? 0);
    });
  }
  // Calls inside one section need no relocation: their offsets are already relative.
  for (const fn of funcs) {
    fn.insns.forEach((insn, i) => {
      if (insn.code !== CALL || insn.src !== PseudoCall.CALL || insn.reference !== undefined) return;
      const slot = fn.startSlot + slotOfIndex(fn, i) + insn.imm + 1;
      const callee = funcs.find((f) => f.section.index === fn.section.index && f.startSlot === slot);
      if (!callee) throw new ObjectError(`function "${fn.name}": call at instruction ${fn.startSlot + slotOfIndex(fn, i)} targets instruction ${slot}, which does not start a function`, fn.section.name, (fn.startSlot + slotOfIndex(fn, i)) * 8);
      fn.insns[i] = { ...insn, reference: callee.key };
    });
  }
}

function slotOfIndex(fn: Func, index: number): number {
  for (let s = 0; s < fn.slotToIndex.length; s++) if (fn.slotToIndex[s] === index) return s;
  return -1;
}

function relocate(
  funcs: readonly Func[],
  targets: RelocTargets,
  insn: Instruction,
  sym: ElfSymbol,
  relType: number,
  where: string,
  section: string,
  off: number,
  fn: Func,
  sectionSize: (index: number) => number,
): Instruction {
  const isCall = insn.code === CALL;
  const isLddw = insn.code === LDDW;
  if (sym.shndx === SHN_UNDEF) {
    const ext = targets.extern(sym.name);
    if (!ext) throw new ObjectError(`${where}: undefined symbol "${sym.name}" is not a known extern`, section, off);
    noteUse(fn.externs, sym.name);
    if (isCall) {
      // clang emits kfunc calls as pseudo calls against the extern; the kernel wants KFUNC_CALL.
      return { ...insn, src: PseudoCall.KFUNC_CALL, imm: 0, off: 0, reference: sym.name };
    }
    if (isLddw && ext.kind === 'kconfig') return { ...insn, src: PseudoLd.MAP_VALUE, imm: 0, imm2: ext.offset ?? 0, reference: '.kconfig' };
    if (isLddw) return { ...insn, src: PseudoLd.BTF_ID, imm: 0, imm2: 0, reference: sym.name };
    throw new ObjectError(`${where}: extern "${sym.name}" used by an instruction that is neither a call nor an lddw`, section, off);
  }
  if (isCall) {
    if (relType !== R_BPF_64_32) throw new ObjectError(`${where}: call relocation of type ${relType}, expected R_BPF_64_32`, section, off);
    if (insn.src !== PseudoCall.CALL) throw new ObjectError(`${where}: relocated call is not a BPF-to-BPF call (src ${insn.src})`, section, off);
    const slot = Number(sym.value) / 8 + insn.imm + 1;
    const callee = funcs.find((f) => f.section.index === sym.shndx && f.startSlot === slot);
    if (!callee) throw new ObjectError(`${where}: call target (instruction ${slot} of section ${sym.shndx}) does not start a function`, section, off);
    return { ...insn, reference: callee.key };
  }
  if (!isLddw) throw new ObjectError(`${where}: relocation on an instruction that is not an lddw or a call (opcode 0x${insn.code.toString(16)})`, section, off);
  if (relType !== R_BPF_64_64) throw new ObjectError(`${where}: lddw relocation of type ${relType}, expected R_BPF_64_64`, section, off);
  const value = Number(sym.value);
  const mapName = targets.mapAt(sym.shndx, value + (sym.type === STT_SECTION ? insn.imm : 0));
  if (mapName !== undefined) {
    noteUse(fn.maps, mapName);
    return { ...insn, src: PseudoLd.MAP_FD, imm: 0, imm2: 0, reference: mapName };
  }
  const dataMap = targets.dataMap(sym.shndx);
  if (dataMap !== undefined) {
    // The kernel takes the offset into the map value only below value_size (map_direct_value_addr).
    const size = sectionSize(sym.shndx);
    if (value + insn.imm < 0 || value + insn.imm >= size) throw new ObjectError(`${where}: offset ${value + insn.imm} is outside global data "${dataMap}" (${size} bytes)`, section, off);
    noteUse(fn.maps, dataMap);
    return { ...insn, src: PseudoLd.MAP_VALUE, imm: 0, imm2: value + insn.imm, reference: dataMap };
  }
  // A function's address (a callback for bpf_loop, bpf_for_each_map_elem...).
  const target = funcs.find((f) => f.section.index === sym.shndx && f.startSlot * 8 === value + insn.imm);
  if (target) return { ...insn, src: PseudoLd.FUNC, imm: 0, imm2: 0, reference: target.key };
  throw new ObjectError(`${where}: lddw refers to section ${sym.shndx} offset ${value + insn.imm}, which is no map, global data or function`, section, off);
}

/** The pieces of BTF.ext that a linked program carries. */
export interface LinkedDebugInfo {
  readonly funcInfo: ProgramFuncInfo[];
  readonly coreRelos: ProgramCoreRelo[];
}

const isCodeRef = (insn: Instruction): boolean => (insn.code === CALL && insn.src === PseudoCall.CALL) || (insn.code === LDDW && insn.src === PseudoLd.FUNC);

/**
 * The exception callback libbpf appends to `entry` (bpf_prog_assign_exc_cb, libbpf >= 1.3): the
 * global function named by a `btf_decl_tag("exception_callback:NAME")` on the entry's BTF FUNC.
 */
function exceptionCallback(entry: Func, funcs: readonly Func[], btf: Btf | undefined): Func | undefined {
  if (!btf) return undefined;
  const prefix = 'exception_callback:';
  let found: Func | undefined;
  for (const t of btf.types) {
    if (t.kind !== 'decl_tag' || t.componentIdx !== -1 || !t.name.startsWith(prefix)) continue;
    const target = btf.typeById(t.type);
    if (target.kind !== 'func' || target.name !== entry.name) continue;
    const name = t.name.slice(prefix.length);
    if (name === '') throw new ObjectError(`program "${entry.name}": exception_callback decl tag names no function`, entry.section.name);
    // Two callbacks for one program: libbpf appends neither and lets the verifier refuse it.
    if (found) return undefined;
    found = funcs.find((f) => f.name === name && f.section.name === '.text' && f.global);
    if (!found) throw new ObjectError(`program "${entry.name}": exception callback "${name}" is not a global function in .text`, entry.section.name);
  }
  return found;
}

/**
 * The order libbpf lays a program out in (bpf_object__reloc_code): the entry function, then
 * each function it calls or takes the address of (a callback for bpf_loop...), appended where
 * it is first referenced and walked depth-first before the scan of its caller resumes; last the
 * exception callback, if the program names one and it is not already in. `main` calls a() then
 * b(), a calls c: main, a, c, b.
 */
export function layoutOrder(entry: Func, funcs: readonly Func[], btf?: Btf): Func[] {
  const byKey = new Map(funcs.map((f) => [f.key, f]));
  const order: Func[] = [];
  const seen = new Set<string>();
  const walk = (root: Func): void => {
    order.push(root);
    seen.add(root.key);
    // An explicit stack: a chain of thousands of functions must not overflow the JS stack.
    const stack: { fn: Func; next: number }[] = [{ fn: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.next >= top.fn.insns.length) {
        stack.pop();
        continue;
      }
      const insn = top.fn.insns[top.next++]!;
      if (insn.reference === undefined || !isCodeRef(insn)) continue;
      const callee = byKey.get(insn.reference);
      if (!callee || seen.has(callee.key)) continue;
      order.push(callee);
      seen.add(callee.key);
      stack.push({ fn: callee, next: 0 });
    }
  };
  walk(entry);
  const cb = exceptionCallback(entry, funcs, btf);
  if (cb && !seen.has(cb.key)) walk(cb);
  return order;
}

/**
 * Links a program: its entry function, then every function it calls or takes the address of,
 * in libbpf's order ({@link layoutOrder}), so the instruction stream and the kernel's prog tag
 * equal libbpf's. Function starts get `symbol` = their key so `encode` resolves calls; source
 * lines, func info and CO-RE relocations are carried over with linked instruction indexes, in
 * the new layout's order.
 */
export function linkProgram(entry: Func, funcs: readonly Func[], btfExt: BtfExt | undefined, btf?: Btf): { instructions: Instruction[]; maps: string[]; externs: string[] } & LinkedDebugInfo {
  const order = layoutOrder(entry, funcs, btf);
  const instructions: Instruction[] = [];
  const funcInfo: ProgramFuncInfo[] = [];
  const coreRelos: ProgramCoreRelo[] = [];
  const maps: string[] = [];
  const externs: string[] = [];
  for (const fn of order) {
    const base = instructions.length;
    const sec = fn.section.name;
    const lo = fn.startSlot * 8;
    const hi = (fn.startSlot + fn.slotCount) * 8;
    const indexOf = (insnOff: number): number | undefined => {
      if (insnOff < lo || insnOff >= hi || insnOff % 8 !== 0) return undefined;
      const i = fn.slotToIndex[insnOff / 8 - fn.startSlot]!;
      return i < 0 ? undefined : base + i;
    };
    const lines = new Map<number, SourceLine>();
    for (const l of btfExt?.lineInfos.get(sec) ?? []) {
      const at = indexOf(l.insnOff);
      if (at !== undefined) lines.set(at, { file: l.fileName, line: l.lineNumber, column: l.column, text: l.line });
    }
    fn.insns.forEach((insn, i) => {
      let out = insn;
      if (i === 0) out = { ...out, symbol: fn.key };
      const src = lines.get(base + i);
      if (src) out = { ...out, source: src };
      instructions.push(out);
    });
    const fi = btfExt?.funcInfos.get(sec)?.find((f) => f.insnOff === lo);
    if (fi) funcInfo.push({ insn: base, typeId: fi.typeId });
    for (const r of btfExt?.coreRelos.get(sec) ?? []) {
      const at = indexOf(r.insnOff);
      if (at !== undefined) coreRelos.push({ insn: at, typeId: r.typeId, accessString: r.accessString, kind: r.kind });
    }
    for (const m of fn.maps) noteUse(maps, m);
    for (const x of fn.externs) noteUse(externs, x);
  }
  return { instructions, funcInfo, coreRelos, maps, externs };
}
