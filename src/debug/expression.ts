// The debugger's expression language: C-like integer expressions over registers, context fields and memory.
//
//   r1, w2 (low 32 bits), pc, 42, 0x2a, ctx->data_end, *(u32 *)(r10 - 8), *(u8 *)0x10000000020,
//   + - * / % & | ^ << >> ~ ! == != < <= > >= && || ( )
//
// Values are unsigned 64-bit (comparisons unsigned; a cast to s8..s64 sign-extends what it reads).

import { ExpressionError } from './errors.js';

/** What an expression can read. */
export interface EvalScope {
  /** Register i (0..10) as an unsigned 64-bit value. */
  reg(i: number): bigint;
  /** The slot about to run. */
  readonly pc: number;
  /** `size` bytes at a virtual address (throws a BpfkitError when unmapped). */
  read(address: bigint, size: number): Uint8Array;
  /** A context field by name (`data_end`), or undefined when the context has none. */
  ctxField(name: string): bigint | undefined;
}

/** A parsed expression, evaluated many times (a breakpoint condition). */
export type CompiledExpression = (scope: EvalScope) => bigint;

const U64 = (1n << 64n) - 1n;
const TYPES: Readonly<Record<string, { size: number; signed: boolean }>> = {
  u8: { size: 1, signed: false }, u16: { size: 2, signed: false }, u32: { size: 4, signed: false }, u64: { size: 8, signed: false },
  s8: { size: 1, signed: true }, s16: { size: 2, signed: true }, s32: { size: 4, signed: true }, s64: { size: 8, signed: true },
  __u8: { size: 1, signed: false }, __u16: { size: 2, signed: false }, __u32: { size: 4, signed: false }, __u64: { size: 8, signed: false },
  __be16: { size: 2, signed: false }, __be32: { size: 4, signed: false }, char: { size: 1, signed: true }, short: { size: 2, signed: true },
  int: { size: 4, signed: true }, long: { size: 8, signed: true }, __s32: { size: 4, signed: true }, __s64: { size: 8, signed: true },
};

interface Token {
  readonly kind: 'num' | 'id' | 'op';
  readonly text: string;
  readonly at: number;
}

const OPS = ['->', '<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '&', '|', '^', '~', '!', '<', '>', '(', ')'];

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(0x[0-9a-fA-F]+|0b[01]+|[0-9]+)/.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'num', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (id) {
      out.push({ kind: 'id', text: id[0], at: i });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new ExpressionError(src, `unexpected '${c}' at column ${i + 1}`);
    out.push({ kind: 'op', text: op, at: i });
    i += op.length;
  }
  return out;
}

const BINARY: readonly (readonly string[])[] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '<=', '>', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];

function binary(op: string, a: bigint, b: bigint): bigint {
  switch (op) {
    case '||': return a !== 0n || b !== 0n ? 1n : 0n;
    case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
    case '|': return a | b;
    case '^': return a ^ b;
    case '&': return a & b;
    case '==': return a === b ? 1n : 0n;
    case '!=': return a !== b ? 1n : 0n;
    case '<': return a < b ? 1n : 0n;
    case '<=': return a <= b ? 1n : 0n;
    case '>': return a > b ? 1n : 0n;
    case '>=': return a >= b ? 1n : 0n;
    case '<<': return (a << (b & 63n)) & U64;
    case '>>': return a >> (b & 63n);
    case '+': return (a + b) & U64;
    case '-': return (a - b) & U64;
    case '*': return (a * b) & U64;
    case '/': return b === 0n ? 0n : a / b; // BPF's x / 0 = 0
    default: return b === 0n ? a : a % b; // BPF's x % 0 = x
  }
}

/** Little-endian bytes to a value, sign-extended to 64 bits for a signed type. */
function fromBytes(b: Uint8Array, signed: boolean): bigint {
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return signed ? BigInt.asUintN(64, BigInt.asIntN(b.length * 8, v)) : v;
}

/** Parses `src`; throws ExpressionError with the column of a syntax error. */
export function compileExpression(src: string): CompiledExpression {
  const toks = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => toks[pos];
  const fail = (why: string): never => {
    const t = toks[pos];
    throw new ExpressionError(src, t ? `${why} at column ${t.at + 1} ('${t.text}')` : `${why} at the end`);
  };
  const eat = (text: string): boolean => {
    if (toks[pos]?.kind === 'op' && toks[pos]!.text === text) {
      pos++;
      return true;
    }
    return false;
  };
  const expect = (text: string): void => {
    if (!eat(text)) fail(`expected '${text}'`);
  };

  const level = (n: number): CompiledExpression => {
    if (n === BINARY.length) return unary();
    let left = level(n + 1);
    for (;;) {
      const t = peek();
      if (!t || t.kind !== 'op' || !BINARY[n]!.includes(t.text)) return left;
      pos++;
      const right = level(n + 1);
      const l = left;
      left = (s) => binary(t.text, l(s), right(s));
    }
  };

  /** `(TYPE *)` after a `*`, when the tokens spell one. */
  const castType = (): { size: number; signed: boolean } | undefined => {
    const a = toks[pos], b = toks[pos + 1], c = toks[pos + 2], d = toks[pos + 3];
    if (a?.text !== '(' || b?.kind !== 'id') return undefined;
    const t = TYPES[b.text];
    if (!t) return undefined;
    if (c?.text === '*' && d?.text === ')') {
      pos += 4;
      return t;
    }
    return undefined;
  };

  const unary = (): CompiledExpression => {
    if (eat('-')) {
      const e = unary();
      return (s) => (-e(s)) & U64;
    }
    if (eat('!')) {
      const e = unary();
      return (s) => (e(s) === 0n ? 1n : 0n);
    }
    if (eat('~')) {
      const e = unary();
      return (s) => ~e(s) & U64;
    }
    if (eat('*')) {
      const t = castType() ?? { size: 8, signed: false };
      const e = unary();
      return (s) => fromBytes(s.read(e(s), t.size), t.signed);
    }
    return primary();
  };

  const primary = (): CompiledExpression => {
    const t = peek();
    if (!t) return fail('expected a value');
    if (t.kind === 'num') {
      pos++;
      const v = BigInt(t.text);
      if (v > U64) throw new ExpressionError(src, `${t.text} does not fit in 64 bits`);
      return () => v;
    }
    if (t.kind === 'id') {
      pos++;
      const reg = /^([rw])(10|[0-9])$/.exec(t.text);
      if (reg) {
        const i = Number(reg[2]);
        return reg[1] === 'w' ? (s) => s.reg(i) & 0xffffffffn : (s) => s.reg(i);
      }
      if (t.text === 'pc') return (s) => BigInt(s.pc);
      if (t.text === 'ctx' && eat('->')) {
        const f = peek();
        if (f?.kind !== 'id') return fail('expected a context field name');
        pos++;
        const name = f.text;
        return (s) => {
          const v = s.ctxField(name);
          if (v === undefined) throw new ExpressionError(src, `the context has no field '${name}'`);
          return v;
        };
      }
      if (t.text === 'ctx') return (s) => s.reg(1);
      throw new ExpressionError(src, `unknown name '${t.text}' at column ${t.at + 1} (registers r0..r10, w0..w10, pc, ctx->FIELD)`);
    }
    if (eat('(')) {
      const e = level(0);
      expect(')');
      return e;
    }
    return fail('expected a value');
  };

  if (toks.length === 0) throw new ExpressionError(src, 'empty expression');
  const e = level(0);
  if (pos < toks.length) fail('unexpected token');
  return e;
}

/** Evaluates `src` once in `scope`. */
export function evaluateExpression(src: string, scope: EvalScope): bigint {
  return compileExpression(src)(scope);
}

/** A value as the debugger prints it: hex and decimal, and the signed reading when negative (`0xfffffffffffffffe (18446744073709551614, -2)`). */
export function formatValue(v: bigint): string {
  const signed = BigInt.asIntN(64, v);
  return `0x${v.toString(16)} (${v}${signed < 0n ? `, ${signed}` : ''})`;
}
