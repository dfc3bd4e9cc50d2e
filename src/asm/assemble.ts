// The text assembler: llvm syntax (and pasted llvm-objdump listings) -> Instruction[].
//
// It reads instructions by shape: the llvm syntax table's template of every opcode entry is
// tokenized once, and a line is matched to the templates with the same shape (`r% += #`).
// The printer and the assembler therefore share one table and one lexer.

import { decode, type ByteOrder, invalidReason } from '../isa/decode.js';
import { type Instruction, splitImm64 } from '../isa/instruction.js';
import { matchEntry, OPCODES, type OpcodeEntry, opcode, PseudoCall } from '../isa/opcodes.js';
import { BpfFuncId } from '../isa/uapi.generated.js';
import { AsmSyntaxError } from './errors.js';
import { llvmTemplate, mapReferenceTemplate } from './llvm-syntax.js';
import { LexError, shapeOf, type Token, tokenize } from './tokens.js';

/** Options of `assemble`. */
export interface AssembleOptions {
  /** Byte order of raw instruction bytes in a pasted llvm-objdump listing (default `le`). */
  byteOrder?: ByteOrder;
  /**
   * When a listing line carries raw bytes, take the instruction from the bytes rather than
   * from its text. Lines whose text is `<unknown>` always use their bytes. Default false.
   */
  preferRawBytes?: boolean;
}

/** One section of an assembled listing. */
export interface AssembledSection {
  /** The section name from `Disassembly of section NAME:`, or `''` when the text has none. */
  readonly section: string;
  /** Its instructions; labels are `symbol`s, jumps to labels are `reference`s. */
  readonly insns: Instruction[];
}

interface Form {
  readonly entry: OpcodeEntry;
  readonly tokens: readonly Token[];
}

/** Every template of the llvm table, by shape. Built once, on first use. */
let formsByShape: Map<string, Form[]> | undefined;

function forms(): Map<string, Form[]> {
  if (formsByShape) return formsByShape;
  const map = new Map<string, Form[]>();
  for (const entry of OPCODES) {
    if (entry.kind === 'call') continue; // calls name helpers and functions: see parseCall
    const seen = new Set<string>();
    for (const alu32 of [false, true]) {
      for (const full of [false, true]) {
        const tokens = tokenize(llvmTemplate(entry, { alu32, full }), true);
        const shape = shapeOf(tokens);
        if (seen.has(shape)) continue;
        seen.add(shape);
        const list = map.get(shape) ?? [];
        list.push({ entry, tokens });
        map.set(shape, list);
      }
    }
    // `r1 = map[stats] ll`, `r1 = map_value[.bss] + 0x8 ll`: map loads named by their map.
    const named = mapReferenceTemplate(entry);
    if (named) {
      const tokens = tokenize(named, true);
      const shape = shapeOf(tokens);
      map.set(shape, [...(map.get(shape) ?? []), { entry, tokens }]);
    }
  }
  formsByShape = map;
  return map;
}

const HELPERS = BpfFuncId as Readonly<Record<string, number>>;
const S32: [bigint, bigint] = [-(1n << 31n), (1n << 32n) - 1n];
const S16: [bigint, bigint] = [-(1n << 15n), (1n << 15n) - 1n];
const S64: [bigint, bigint] = [-(1n << 63n), (1n << 64n) - 1n];

/** Position and text of the line being assembled, for errors. */
interface LineCtx {
  readonly line: number;
  readonly text: string;
}

const fail = (ctx: LineCtx, column: number, reason: string): never => {
  throw new AsmSyntaxError(ctx.line, column, ctx.text, reason);
};

/** A parsed operand value: a number, or a label/symbol name. */
type Operand = { readonly num: bigint; readonly col: number; readonly text: string } | { readonly label: string; readonly col: number; readonly text: string };

function checkRange(ctx: LineCtx, tok: { col: number; text: string }, v: bigint, [min, max]: [bigint, bigint], what: string, hint = ''): bigint {
  if (v < min || v > max) fail(ctx, tok.col, `${what} '${tok.text}' out of range${hint}`);
  return v;
}

/** Matches one instruction's tokens against a form; returns the instruction or a reason it does not fit. */
function fill(ctx: LineCtx, form: Form, input: readonly Token[], labels: readonly (string | undefined)[]): Instruction | string {
  const e = form.entry;
  let dst: number | undefined;
  let src: number | undefined;
  let off: number | undefined;
  let imm: number | undefined;
  let imm2: number | undefined;
  let reference: string | undefined;
  let asDst = 0;
  let asSrc = 0;
  for (let k = 0; k < form.tokens.length; k++) {
    const want = form.tokens[k]!;
    const got = input[k]!;
    if (want.t === 'reg' && got.t === 'reg') {
      if (want.slot === undefined) {
        if (got.n !== want.n) return `operand ${got.text} must be ${want.text}`;
      } else if (want.slot === 'dst') {
        if (dst !== undefined && dst !== got.n) fail(ctx, got.col, `'${got.text}' must be the same register as ${got.cls}${dst}`);
        dst = got.n;
      } else {
        if (src !== undefined && src !== got.n) fail(ctx, got.col, `'${got.text}' must be the same register as ${got.cls}${src}`);
        src = got.n;
      }
      continue;
    }
    if (want.t !== 'slot') continue;
    const label = labels[k];
    const op: Operand = label !== undefined ? { label, col: got.col, text: got.text } : { num: (got as { v: bigint }).v, col: got.col, text: got.text };
    const number = (range: [bigint, bigint], what: string, hint = ''): number => {
      if ('label' in op) return fail(ctx, op.col, `${what} must be a number, got '${op.text}'`);
      return Number(BigInt.asIntN(range === S16 ? 16 : 32, checkRange(ctx, op, op.num, range, what, hint)));
    };
    switch (want.name) {
      case 'imm':
        imm = number(S32, 'immediate', e.kind === 'alu' && e.op === 'mov' ? " (a 64-bit constant needs 'll')" : '');
        break;
      case 'immoff':
        imm = number(S32, 'offset');
        break;
      case 'imm2':
        imm2 = number(S32, 'immediate');
        break;
      case 'off':
      case 'offn':
        off = number(S16, 'offset');
        break;
      case 'pseudo':
        src = number([0n, 15n], 'pseudo source');
        break;
      case 'asdst':
        asDst = number([0n, 0xffffn], 'address space');
        break;
      case 'assrc':
        asSrc = number([0n, 0xffffn], 'address space');
        break;
      case 'jmp':
        if ('label' in op) reference = op.label;
        else off = number(S16, 'jump offset', '; use gotol');
        break;
      case 'jmpl':
        if ('label' in op) reference = op.label;
        else imm = number(S32, 'jump offset');
        break;
      case 'ref':
        if (!('label' in op)) return fail(ctx, op.col, `a map name is expected, got '${op.text}'`);
        reference = op.label;
        imm = 0;
        break;
      case 'imm64':
        if ('label' in op) {
          reference = op.label;
          imm = 0;
          imm2 = 0;
        } else {
          const halves = splitImm64(BigInt.asUintN(64, checkRange(ctx, op, op.num, S64, 'immediate')));
          imm = halves.imm;
          imm2 = halves.imm2;
        }
        break;
      default:
        throw new Error(`assembler: unknown placeholder {${want.name}}`);
    }
  }
  if (e.kind === 'addr_space_cast') imm = (asDst << 16) | asSrc;
  const insn: Instruction = {
    code: e.code,
    dst: dst ?? 0,
    src: src ?? (e.fields.src === 'pseudo' ? e.src! : 0),
    off: off ?? (e.fields.off === 'fixed' ? e.off! : 0),
    imm: imm ?? (e.fields.imm === 'fixed' ? e.imm! : 0),
    ...(e.kind === 'lddw' ? { imm2: imm2 ?? 0 } : {}),
    ...(reference === undefined ? {} : { reference }),
  };
  const matched = matchEntry(insn.code, insn.src, insn.off, insn.imm);
  if (matched !== e) return matched ? `reads as ${matched.name}` : `no instruction ${e.name.split('.')[0]} with these operands`;
  return insn;
}

/** `call 1`, `call bpf_map_lookup_elem`, `call my_func`, `call pc-0x1`, `call kfunc 0x5[, 0x1]`. */
function parseCall(ctx: LineCtx, toks: readonly Token[]): Instruction | undefined {
  const [, a, b, comma, c] = toks;
  const make = (name: string, f: Partial<Instruction>): Instruction => {
    const e = opcode(name);
    return { code: e.code, dst: 0, src: e.src!, off: 0, imm: 0, ...f };
  };
  const num = (t: Token | undefined, range: [bigint, bigint], what: string): number => {
    if (t?.t !== 'num') return fail(ctx, t?.col ?? ctx.text.length + 1, `${what} must be a number`);
    return Number(BigInt.asIntN(32, checkRange(ctx, t, t.v, range, what)));
  };
  if (toks.length === 2 && a?.t === 'num') return make('call.helper', { imm: num(a, S32, 'helper id') });
  if (a?.t !== 'ident') return undefined;
  if (a.v === 'pc' && toks.length === 3) return make('call.func', { imm: num(b, S32, 'call offset') });
  if (a.v === 'kfunc' && (toks.length === 3 || toks.length === 5)) {
    if (toks.length === 5 && (comma?.t !== 'punct' || comma.v !== ',')) return undefined;
    return make('call.kfunc', { imm: num(b, S32, 'kfunc BTF id'), off: toks.length === 5 ? num(c, S16, 'BTF fd index') : 0 });
  }
  if (toks.length !== 2) return undefined;
  const helper = HELPERS[a.v.startsWith('bpf_') ? a.v.slice(4) : a.v];
  if (helper !== undefined && helper !== 0) return make('call.helper', { imm: helper });
  // Anything else names a function in this text, resolved by encode (`call.func` with a reference).
  return { ...make('call.func', {}), reference: a.v };
}

const JUMP_WORDS = new Set(['goto', 'gotol', 'may_goto']);

/** Assembles the text of one instruction (no label, no comment). */
function assembleInstruction(ctx: LineCtx, body: string, column: number): Instruction {
  let toks: Token[];
  try {
    toks = tokenize(body);
  } catch (err) {
    if (err instanceof LexError) return fail(ctx, column + err.col - 1, err.message);
    throw err;
  }
  toks = toks.map((t) => ({ ...t, col: t.col + column - 1 }));
  for (const t of toks) {
    if (t.t === 'reg' && t.n > 10) fail(ctx, t.col, `unknown register '${t.text}'`);
  }
  const first = toks[0];
  if (first?.t === 'ident' && first.v === 'call') {
    const call = parseCall(ctx, toks);
    if (call) return call;
  }
  // Names in operand position: jump targets and `r1 = symbol ll`.
  const labels: (string | undefined)[] = toks.map((t, k) => {
    const prev = toks[k - 1];
    const next = toks[k + 1];
    if (t.t !== 'ident') return undefined;
    if (prev?.t === 'ident' && JUMP_WORDS.has(prev.v) && k === toks.length - 1) return t.v;
    if (prev?.t === 'punct' && prev.v === '=' && next?.t === 'ident' && next.v === 'll' && k === toks.length - 2) return t.v;
    const before = toks[k - 2];
    if (prev?.t === 'punct' && prev.v === '[' && next?.t === 'punct' && next.v === ']' && before?.t === 'ident' && (before.v === 'map' || before.v === 'map_value')) return t.v;
    return undefined;
  });
  const shape = toks.map((t, k) => (labels[k] !== undefined ? '#' : shapeOf([t]))).join(' ');
  const candidates = forms().get(shape);
  if (!candidates) return fail(ctx, first?.col ?? column, `unrecognized instruction '${body.trim()}'`);
  let why = '';
  for (const form of candidates) {
    const got = fill(ctx, form, toks, labels);
    if (typeof got !== 'string') {
      const reason = invalidReason(got);
      if (reason) fail(ctx, first?.col ?? column, reason);
      return got;
    }
    why = got;
  }
  return fail(ctx, first?.col ?? column, `invalid instruction '${body.trim()}': ${why}`);
}

const OBJDUMP_SYMBOL = /^[0-9a-fA-F]{8,16} <([^<>]+)>:\s*$/;
const LABEL = /^\s*([A-Za-z_.$][\w.$]*):(.*)$/;
const ADDRESS = /^\s*[0-9]+:(?=\s)/;
const RAW_BYTES = /^\s*((?:[0-9a-fA-F]{2} ){7}[0-9a-fA-F]{2}(?: (?:[0-9a-fA-F]{2} ){7}[0-9a-fA-F]{2})?)(?=\s|$)/;
const RELOCATION = /^\s+[0-9a-fA-F]+:\s+R_[A-Z0-9_]+\s/;
const SECTION = /^Disassembly of section (.+):\s*$/;

/** Removes a `;`, `#` or `//` comment and llvm-objdump's `<target>` annotations. */
function stripComment(s: string): string {
  const at = s.search(/;|#|\/\//);
  const code = at < 0 ? s : s.slice(0, at);
  return code.replace(/<[A-Za-z_.$][\w.$]*(?:[+-]0x[0-9a-fA-F]+)?>/g, (m) => ' '.repeat(m.length));
}

/**
 * Assembles llvm-syntax text — what llvm-objdump prints, in hex or decimal — into one
 * instruction list per section. Accepts `name:` labels, `goto label` and `goto +N`,
 * comments after `;`, `#` or `//`, assembler directives (ignored), and whole pasted
 * llvm-objdump listings (addresses, raw bytes, `<symbol>:` lines, `-S` source lines and
 * `-r` relocation lines). Throws AsmSyntaxError naming the line.
 */
export function assembleListing(text: string, options: AssembleOptions = {}): AssembledSection[] {
  const sections: { section: string; insns: Instruction[]; lines: number[] }[] = [];
  let current = { section: '', insns: [] as Instruction[], lines: [] as number[] };
  const pending: { name: string; line: number }[] = [];
  const aliases = new Map<string, string>();
  const defined = new Map<string, number>();
  const flush = (ctx?: LineCtx): void => {
    if (pending.length > 0 && ctx) fail(ctx, 1, `label '${pending[0]!.name}' is not followed by an instruction`);
    if (current.insns.length > 0 || current.section !== '') sections.push(current);
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((rawLine, i) => {
    const ctx: LineCtx = { line: i + 1, text: rawLine };
    const section = SECTION.exec(rawLine);
    if (section) {
      if (pending.length > 0) fail({ line: pending[0]!.line, text: lines[pending[0]!.line - 1]! }, 1, `label '${pending[0]!.name}' is not followed by an instruction`);
      flush();
      current = { section: section[1]!, insns: [], lines: [] };
      return;
    }
    if (RELOCATION.test(rawLine) || /:\s+file format /.test(rawLine)) return;
    const symbol = OBJDUMP_SYMBOL.exec(rawLine);
    let body = stripComment(rawLine);
    if (symbol) {
      pending.push({ name: symbol[1]!, line: i + 1 });
      return;
    }
    let bytes: string | undefined;
    const address = ADDRESS.exec(body);
    if (address) {
      body = ' '.repeat(address[0].length) + body.slice(address[0].length);
      const raw = RAW_BYTES.exec(body);
      if (raw) {
        bytes = raw[1];
        body = ' '.repeat(raw[0].length) + body.slice(raw[0].length);
      }
    } else {
      for (let label = LABEL.exec(body); label; label = LABEL.exec(body)) {
        pending.push({ name: label[1]!, line: i + 1 });
        body = ' '.repeat(body.length - label[2]!.length) + label[2]!;
      }
    }
    const trimmed = body.trim();
    if (trimmed === '' && !/<unknown>/.test(rawLine)) return;
    if (trimmed.startsWith('.')) return; // an assembler directive
    let insn: Instruction;
    if (bytes !== undefined && (options.preferRawBytes || trimmed === '' || /^<unknown>/.test(trimmed))) {
      const raw = new Uint8Array(bytes.split(' ').map((b) => parseInt(b, 16)));
      const decoded = decode(raw, { byteOrder: options.byteOrder ?? 'le', strict: false });
      if (decoded.length !== 1) fail(ctx, 1, `raw bytes '${bytes}' are not one instruction`);
      insn = decoded[0]!;
    } else if (trimmed === '') {
      return fail(ctx, 1, `'<unknown>' instruction without raw bytes`);
    } else {
      insn = assembleInstruction(ctx, body, 1);
    }
    if (pending.length > 0) {
      const [head, ...rest] = pending;
      for (const p of pending) {
        if (defined.has(p.name)) fail({ line: p.line, text: lines[p.line - 1]! }, 1, `label '${p.name}' is defined twice (first on line ${defined.get(p.name)})`);
        defined.set(p.name, p.line);
      }
      for (const r of rest) aliases.set(r.name, head!.name);
      insn = { ...insn, symbol: head!.name };
      pending.length = 0;
    }
    current.insns.push(insn);
    current.lines.push(i + 1);
  });
  if (pending.length > 0) fail({ line: pending[0]!.line, text: lines[pending[0]!.line - 1]! }, 1, `label '${pending[0]!.name}' is not followed by an instruction`);
  flush();
  // Jump and call targets must be labels of the same section.
  for (const s of sections) {
    const local = new Set(s.insns.flatMap((x) => (x.symbol === undefined ? [] : [x.symbol])));
    s.insns.forEach((insn, k) => {
      if (insn.reference === undefined) return;
      const e = matchEntry(insn.code, insn.src, insn.off, insn.imm);
      const codeTarget = e && (e.kind === 'jmp' || e.kind === 'ja' || e.kind === 'gotol' || e.kind === 'may_goto' || e.src === PseudoCall.CALL && e.kind === 'call');
      if (!codeTarget) return;
      const target = aliases.get(insn.reference) ?? insn.reference;
      if (!local.has(target)) {
        const line = s.lines[k]!;
        const what = e.kind === 'call' ? 'unknown helper or function' : 'undefined label';
        fail({ line, text: lines[line - 1]! }, Math.max(1, lines[line - 1]!.indexOf(insn.reference) + 1), `${what} '${insn.reference}'`);
      }
      if (target !== insn.reference) s.insns[k] = { ...insn, reference: target };
    });
  }
  return sections.map(({ section, insns }) => ({ section, insns }));
}

/**
 * Assembles llvm-syntax text into one instruction list (see `assembleListing` for what it
 * reads). Throws AsmSyntaxError for a syntax error, and for a listing of several sections.
 */
export function assemble(text: string, options: AssembleOptions = {}): Instruction[] {
  const sections = assembleListing(text, options);
  if (sections.length > 1) {
    throw new AsmSyntaxError(1, 1, '', `the text has ${sections.length} sections (${sections.map((s) => s.section).join(', ')}); use assembleListing`);
  }
  return sections[0]?.insns ?? [];
}
