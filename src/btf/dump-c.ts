// `btf dump ... format c`: compilable C declarations of every type, in the order and spelling of libbpf's btf_dump.

import type { BtfType, CompositeType, EnumType, Enum64Type } from './types.js';

/** What the C dump reads of a BTF: the type table (a `Btf` is one). */
export interface CDumpSource {
  /** Types indexed by id; index 0 is void. */
  readonly types: readonly BtfType[];
}

/** Options of {@link dumpBtfC}. */
export interface DumpBtfCOptions {
  /** Only these types and what they need, in this order; default every type. */
  readonly ids?: readonly number[];
  /** Leave out the `#ifndef __VMLINUX_H__` guard and the preserve_access_index pragma. */
  readonly bare?: boolean;
}

const PTR_SIZE = 8;
const TABS = '\t'.repeat(13);
const pfx = (lvl: number): string => TABS.slice(0, Math.min(lvl, TABS.length));

type OrderState = 0 | 1 | 2; // not ordered, ordering, ordered
type EmitState = 0 | 1 | 2; // not emitted, emitting, emitted

const isMod = (t: BtfType): boolean => t.kind === 'volatile' || t.kind === 'const' || t.kind === 'restrict' || t.kind === 'type_tag';

/**
 * Writes C for the types of one BTF the way libbpf's btf_dump does (bpftool's `format c`):
 * a topological order where a type embedded in another is defined first and one reached only
 * through a pointer may be forward-declared; anonymous structs, unions and enums inline;
 * `long: 64;` style padding so offsets match; `__attribute__((packed))` where the layout
 * needs it; duplicate names made unique with `___2` suffixes.
 */
class CDumper {
  private readonly out: string[] = [];
  private readonly order: OrderState[];
  private readonly emit: EmitState[];
  private readonly fwdEmitted: Uint8Array;
  private readonly referenced: Uint8Array;
  private readonly nameResolved: Uint8Array;
  private readonly cachedNames: (string | undefined)[] = [];
  private readonly typeNames = new Map<string, number>();
  private readonly identNames = new Map<string, number>();
  private queue: number[] = [];

  constructor(private readonly btf: CDumpSource) {
    const n = btf.types.length;
    this.order = new Array<OrderState>(n).fill(0);
    this.emit = new Array<EmitState>(n).fill(0);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    this.nameResolved = new Uint8Array(n);
    this.markReferenced();
  }

  text(): string {
    return this.out.join('');
  }

  private p(s: string): void {
    this.out.push(s);
  }

  private t(id: number): BtfType {
    const t = this.btf.types[id];
    if (!t) throw new RangeError(`no BTF type ${id}`);
    return t;
  }

  private markReferenced(): void {
    const ref = (id: number): void => {
      if (id < this.referenced.length) this.referenced[id] = 1;
    };
    for (const t of this.btf.types) {
      switch (t.kind) {
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'ptr':
        case 'typedef':
        case 'func':
        case 'var':
        case 'decl_tag':
        case 'type_tag':
          ref(t.type);
          break;
        case 'array':
          ref(t.indexType);
          ref(t.type);
          break;
        case 'struct':
        case 'union':
          for (const m of t.members) ref(m.type);
          break;
        case 'func_proto':
          for (const p of t.params) ref(p.type);
          break;
        case 'datasec':
          for (const v of t.vars) ref(v.type);
          break;
        default:
          break;
      }
    }
  }

  /** btf_dump__dump_type: orders `id` and what it needs, then emits them. */
  dumpType(id: number): void {
    this.queue = [];
    if (this.orderType(id, false) < 0) return;
    for (const q of this.queue) this.emitType(q, 0);
  }

  /** Topological ordering: 1 for a strong link (must be defined first), 0 weak (a forward declaration will do), -1 a loop. */
  private orderType(id: number, throughPtr: boolean): number {
    if (id === 0 || this.order[id] === 2) return 1; // void counts as defined, as libbpf marks it
    const t = this.t(id);
    if (this.order[id] === 1) {
      if ((t.kind === 'struct' || t.kind === 'union') && throughPtr && t.name !== '') return 0;
      return -1;
    }
    switch (t.kind) {
      case 'int':
      case 'float':
        this.order[id] = 2;
        return 0;
      case 'ptr': {
        const r = this.orderType(t.type, true);
        this.order[id] = 2;
        return r;
      }
      case 'array':
        return this.orderType(t.type, false);
      case 'struct':
      case 'union': {
        if (throughPtr && t.name !== '') return 0;
        this.order[id] = 1;
        for (const m of t.members) if (this.orderType(m.type, false) < 0) return -1;
        if (t.name !== '') this.queue.push(id);
        this.order[id] = 2;
        return 1;
      }
      case 'enum':
      case 'enum64':
      case 'fwd':
        if (t.name !== '' || !this.referenced[id]) this.queue.push(id);
        this.order[id] = 2;
        return 1;
      case 'typedef': {
        const strong = this.orderType(t.type, throughPtr);
        if (strong < 0) return strong;
        if (throughPtr && !strong) return 0;
        this.queue.push(id);
        this.order[id] = 2;
        return 1;
      }
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        return this.orderType(t.type, throughPtr);
      case 'func_proto': {
        let r = this.orderType(t.returnType, throughPtr);
        if (r < 0) return r;
        let strong = r > 0;
        for (const p of t.params) {
          r = this.orderType(p.type, throughPtr);
          if (r < 0) return r;
          if (r > 0) strong = true;
        }
        return strong ? 1 : 0;
      }
      default:
        this.order[id] = 2;
        return 0;
    }
  }

  private isBlacklisted(id: number): boolean {
    return this.t(id).name === '__builtin_va_list';
  }

  /** Emits the definitions `id` needs (forward declarations where it is being emitted), then `id` at top level. */
  private emitType(id: number, contId: number): void {
    if (id === 0 || this.emit[id] === 2) return;
    const t = this.t(id);
    const topLevel = contId === 0;
    if (this.emit[id] === 1) {
      if (this.fwdEmitted[id]) return;
      if (t.kind === 'struct' || t.kind === 'union') {
        if (id === contId || t.name === '') return;
        this.emitStructFwd(id, t);
        this.p(';\n\n');
        this.fwdEmitted[id] = 1;
      } else if (t.kind === 'typedef') {
        if (!this.isBlacklisted(id)) {
          this.emitTypedefDef(id, t.type, 0);
          this.p(';\n\n');
        }
        this.fwdEmitted[id] = 1;
      }
      return;
    }
    switch (t.kind) {
      case 'int':
        this.emitMissingAlias(id);
        this.emit[id] = 2;
        break;
      case 'enum':
      case 'enum64':
        if (topLevel) {
          this.emitEnumDef(id, t, 0);
          this.p(';\n\n');
        }
        this.emit[id] = 2;
        break;
      case 'ptr':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        this.emitType(t.type, contId);
        break;
      case 'array':
        this.emitType(t.type, contId);
        break;
      case 'fwd':
        this.emitFwdDef(id);
        this.p(';\n\n');
        this.emit[id] = 2;
        break;
      case 'typedef':
        this.emit[id] = 1;
        this.emitType(t.type, id);
        if (!this.fwdEmitted[id] && !this.isBlacklisted(id)) {
          this.emitTypedefDef(id, t.type, 0);
          this.p(';\n\n');
        }
        this.emit[id] = 2;
        break;
      case 'struct':
      case 'union':
        this.emit[id] = 1;
        if (topLevel || t.name === '') {
          const newCont = t.name === '' ? contId : id;
          for (const m of t.members) this.emitType(m.type, newCont);
        } else if (!this.fwdEmitted[id] && id !== contId) {
          this.emitStructFwd(id, t);
          this.p(';\n\n');
          this.fwdEmitted[id] = 1;
        }
        if (topLevel) {
          this.emitStructDef(id, t, 0);
          this.p(';\n\n');
          this.emit[id] = 2;
        } else {
          this.emit[id] = 0;
        }
        break;
      case 'func_proto':
        this.emitType(t.returnType, contId);
        for (const p of t.params) this.emitType(p.type, contId);
        break;
      default:
        break;
    }
  }

  private emitMissingAlias(id: number): void {
    const aliases: Record<string, string> = { __Poly8_t: 'unsigned char', __Poly16_t: 'unsigned short', __Poly64_t: 'unsigned long long', __Poly128_t: 'unsigned __int128' };
    const name = this.typeName(id);
    const to = Object.hasOwn(aliases, name) ? aliases[name] : undefined;
    if (to) this.p(`typedef ${to} ${name};\n\n`);
  }

  /** btf__align_of. */
  private alignOf(id: number, depth = 0): number {
    if (depth > 64) return 0;
    const t = this.t(id);
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'float':
        return Math.min(PTR_SIZE, t.size);
      case 'ptr':
        return PTR_SIZE;
      case 'typedef':
      case 'volatile':
      case 'const':
      case 'restrict':
      case 'type_tag':
        return this.alignOf(t.type, depth + 1);
      case 'array':
        return this.alignOf(t.type, depth + 1);
      case 'struct':
      case 'union': {
        let max = 1;
        for (const m of t.members) {
          const a = this.alignOf(m.type, depth + 1);
          if (a <= 0) return a;
          max = Math.max(max, a);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
        }
        if (t.size % max !== 0) return 1;
        return max;
      }
      default:
        return 0;
    }
  }

  /** btf__resolve_size, 0 where there is none. */
  private sizeOf(id: number): number {
    let mult = 1;
    let cur = id;
    for (let depth = 0; depth < 64; depth++) {
      const t = this.t(cur);
      switch (t.kind) {
        case 'int':
        case 'enum':
        case 'enum64':
        case 'struct':
        case 'union':
        case 'datasec':
        case 'float':
          return t.size * mult;
        case 'ptr':
          return PTR_SIZE * mult;
        case 'typedef':
        case 'volatile':
        case 'const':
        case 'restrict':
        case 'type_tag':
        case 'var':
          cur = t.type;
          break;
        case 'array':
          mult *= t.nelems;
          cur = t.type;
          break;
        default:
          return 0;
      }
    }
    return 0;
  }

  private isPacked(t: CompositeType<'struct' | 'union'>): boolean {
    let max = 1;
    for (const m of t.members) {
      const a = this.alignOf(m.type);
      if (a && m.bitfieldSize === 0 && m.bitOffset % (8 * a) !== 0) return true;
      max = Math.max(a, max);
    }
    return t.size % max !== 0;
  }

  /** Explicit `long: 64;` / `int: 0;` padding so the next member lands at `nextOff` bits. */
  private bitPadding(curOff: number, nextOff: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
    const pads: readonly [string, number][] = [
      ['long', PTR_SIZE * 8],
      ['int', 32],
      ['short', 16],
      ['char', 8],
    ];
    if (curOff >= nextOff) return;
    const roundup = (x: number, y: number): number => Math.ceil(x / y) * y;
    let newOff = 0;
    let [padType, padBits] = pads[0]!;
    for (const [name, bits] of pads) {
      padType = name;
      padBits = bits;
      newOff = roundup(curOff, bits);
      if (newOff <= nextOff) break;
    }
    if (newOff > curOff && newOff <= nextOff) {
      if (inBitfield || (newOff === nextOff && roundup(curOff, nextAlign * 8) !== newOff) || (newOff !== nextOff && nextOff - newOff <= newOff - curOff)) {
        this.p(`\n${pfx(lvl)}${padType}: ${inBitfield ? newOff - curOff : 0};`);
      }
      curOff = newOff;
    }
    while (curOff !== nextOff) {
      const bits = Math.min(nextOff - curOff, padBits);
      if (bits === padBits) {
        this.p(`\n${pfx(lvl)}${padType}: ${padBits};`);
        curOff += bits;
        continue;
      }
      for (let i = pads.length - 1; i >= 0; i--) {
        const [name, pb] = pads[i]!;
        if (pb < bits) continue;
        padType = name;
        padBits = pb;
        this.p(`\n${pfx(lvl)}${name}: ${bits};`);
        curOff += bits;
        break;
      }
    }
  }

  private emitStructFwd(id: number, t: CompositeType<'struct' | 'union'>): void {
    this.p(`${t.kind}${t.name ? ' ' : ''}${this.typeName(id)}`);
  }

  private emitStructDef(id: number, t: CompositeType<'struct' | 'union'>, lvl: number): void {
    const isStruct = t.kind === 'struct';
    const align = this.alignOf(id);
    const packed = isStruct ? this.isPacked(t) : false;
    this.p(`${t.kind}${t.name ? ' ' : ''}${this.typeName(id)} {`);
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      const mAlign = packed ? 1 : this.alignOf(m.type);
      const inBitfield = prevBitfield && m.bitfieldSize !== 0;
      this.bitPadding(off, m.bitOffset, mAlign, inBitfield, lvl + 1);
      this.p(`\n${pfx(lvl + 1)}`);
      this.emitTypeDecl(m.type, m.name, lvl + 1);
      if (m.bitfieldSize) {
        this.p(`: ${m.bitfieldSize}`);
        off = m.bitOffset + m.bitfieldSize;
        prevBitfield = true;
      } else {
        off = m.bitOffset + Math.max(0, this.sizeOf(m.type)) * 8;
        prevBitfield = false;
      }
      this.p(';');
    }
    if (isStruct) this.bitPadding(off, t.size * 8, align, false, lvl + 1);
    if (t.members.length || t.size) this.p(`\n${pfx(lvl)}}`);
    else this.p('}');
    if (packed) this.p(' __attribute__((packed))');
  }

  private emitEnumDef(id: number, t: EnumType | Enum64Type, lvl: number): void {
    this.p(`enum${t.name ? ' ' : ''}${this.typeName(id)}`);
    if (t.values.length === 0) return;
    this.p(' {');
    for (const v of t.values) {
      const dup = this.nameDups(this.identNames, v.name);
      let val: string;
      if (typeof v.value === 'number') val = t.signed ? String(v.value | 0) : String(v.value >>> 0);
      else val = t.signed ? `${BigInt.asIntN(64, v.value)}LL` : `${BigInt.asUintN(64, v.value)}ULL`;
      this.p(`\n${pfx(lvl + 1)}${v.name}${dup > 1 ? `___${dup}` : ''} = ${val},`);
    }
    this.p(`\n${pfx(lvl)}}`);
    if (t.size === 1) this.p(' __attribute__((mode(byte)))');
    else if (t.size === 8 && PTR_SIZE === 8) {
      const needsWord = t.kind === 'enum' || !t.values.some((v) => BigInt.asUintN(64, BigInt(v.value)) >> 32n !== 0n);
      if (needsWord) this.p(' __attribute__((mode(word)))');
    }
  }

  private emitFwdDef(id: number): void {
    const t = this.t(id);
    this.p(`${t.kind === 'fwd' && t.fwdKind === 'union' ? 'union' : 'struct'} ${this.typeName(id)}`);
  }

  private emitTypedefDef(id: number, type: number, lvl: number): void {
    const name = this.identName(id);
    if (type === 0 && name === '__gnuc_va_list') {
      this.p('typedef __builtin_va_list __gnuc_va_list');
      return;
    }
    this.p('typedef ');
    this.emitTypeDecl(type, name, lvl);
  }

  /** The declaration of `fname` with type `id`: the chain of pointers, arrays, modifiers and prototypes. */
  private emitTypeDecl(id: number, fname: string, lvl: number): void {
    const stack: number[] = [];
    let cur = id;
    for (let guard = 0; guard < 4096; guard++) {
      stack.push(cur);
      if (cur === 0) break;
      const t = this.t(cur);
      if (t.kind === 'ptr' || t.kind === 'volatile' || t.kind === 'const' || t.kind === 'restrict' || t.kind === 'type_tag') cur = t.type;
      else if (t.kind === 'func_proto') cur = t.returnType;
      else if (t.kind === 'array') cur = t.type;
      else break;
    }
    this.emitTypeChain(stack, fname, lvl);
  }

  private emitMods(decls: number[]): void {
    while (decls.length) {
      const t = this.t(decls[decls.length - 1]!);
      if (t.kind === 'volatile') this.p('volatile ');
      else if (t.kind === 'const') this.p('const ');
      else if (t.kind === 'restrict') this.p('restrict ');
      else return;
      decls.pop();
    }
  }

  private dropMods(decls: number[]): void {
    while (decls.length && isMod(this.t(decls[decls.length - 1]!))) decls.pop();
  }

  private emitName(name: string, lastWasPtr: boolean): void {
    this.p(`${name && !lastWasPtr ? ' ' : ''}${name}`);
  }

  private emitTypeChain(decls: number[], fname: string, lvl: number): void {
    let lastWasPtr = true;
    while (decls.length) {
      const id = decls.pop()!;
      if (id === 0) {
        this.emitMods(decls);
        this.p('void');
        lastWasPtr = false;
        continue;
      }
      const t = this.t(id);
      switch (t.kind) {
        case 'int':
        case 'float':
          this.emitMods(decls);
          this.p(t.name);
          break;
        case 'struct':
        case 'union':
          this.emitMods(decls);
          if (t.name === '') this.emitStructDef(id, t, lvl);
          else this.emitStructFwd(id, t);
          break;
        case 'enum':
        case 'enum64':
          this.emitMods(decls);
          if (t.name === '') this.emitEnumDef(id, t, lvl);
          else this.p(`enum ${this.typeName(id)}`);
          break;
        case 'fwd':
          this.emitMods(decls);
          this.emitFwdDef(id);
          break;
        case 'typedef':
          this.emitMods(decls);
          this.p(this.identName(id));
          break;
        case 'ptr':
          this.p(lastWasPtr ? '*' : ' *');
          break;
        case 'volatile':
          this.p(' volatile');
          break;
        case 'const':
          this.p(' const');
          break;
        case 'restrict':
          this.p(' restrict');
          break;
        case 'type_tag':
          this.emitMods(decls);
          this.p(` __attribute__((btf_type_tag("${t.name}")))`);
          break;
        case 'array': {
          this.dropMods(decls);
          if (decls.length === 0) {
            this.emitName(fname, lastWasPtr);
            this.p(`[${t.nelems}]`);
            return;
          }
          const multidim = this.t(decls[decls.length - 1]!).kind === 'array';
          if (fname && !lastWasPtr) this.p(' ');
          if (!multidim) this.p('(');
          this.emitTypeChain(decls, fname, lvl);
          if (!multidim) this.p(')');
          this.p(`[${t.nelems}]`);
          return;
        }
        case 'func_proto': {
          this.dropMods(decls);
          if (decls.length) {
            this.p(' (');
            this.emitTypeChain(decls, fname, lvl);
            this.p(')');
          } else {
            this.emitName(fname, lastWasPtr);
          }
          this.p('(');
          const ps = t.params;
          if (ps.length === 0 || (ps.length === 1 && ps[0]!.type === 0)) {
            this.p('void)');
            return;
          }
          for (const [i, prm] of ps.entries()) {
            if (i > 0) this.p(', ');
            if (i === ps.length - 1 && prm.type === 0) {
              this.p('...');
              break;
            }
            this.emitTypeDecl(prm.type, prm.name, lvl);
          }
          this.p(')');
          return;
        }
        default:
          return;
      }
      lastWasPtr = t.kind === 'ptr';
    }
    this.emitName(fname, lastWasPtr);
  }

  private nameDups(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  private resolveName(id: number, map: Map<string, number>): string {
    const t = this.t(id);
    if (t.name === '') return '';
    if (this.nameResolved[id]) return this.cachedNames[id] ?? t.name;
    if (t.kind === 'fwd' || (t.kind === 'enum' && t.values.length === 0)) {
      this.nameResolved[id] = 1;
      return t.name;
    }
    const dup = this.nameDups(map, t.name);
    if (dup > 1) this.cachedNames[id] = `${t.name}___${dup}`;
    this.nameResolved[id] = 1;
    return this.cachedNames[id] ?? t.name;
  }

  private typeName(id: number): string {
    return this.resolveName(id, this.typeNames);
  }

  private identName(id: number): string {
    return this.resolveName(id, this.identNames);
  }
}

/**
 * C declarations of the types of `btf`, as `bpftool btf dump file F format c` prints them
 * (libbpf's btf_dump, in type id order): a header to `#include` in BPF C (`vmlinux.h`),
 * wrapped in an include guard and clang's preserve_access_index pragma for CO-RE. Functions,
 * variables and data sections are not declared (bpftool does not either).
 */
export function dumpBtfC(btf: CDumpSource, options: DumpBtfCOptions = {}): string {
  const d = new CDumper(btf);
  const ids = options.ids ?? Array.from({ length: Math.max(0, btf.types.length - 1) }, (_, i) => i + 1);
  for (const id of ids) if (id >= 0 && id < btf.types.length) d.dumpType(id);
  if (options.bare) return d.text();
  return [
    '#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n',
    '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n',
    d.text(),
    '#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __VMLINUX_H__ */\n',
  ].join('');
}
