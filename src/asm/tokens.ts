// The tokenizer shared by the printer's templates and the assembler: one lexer, so the text the
// printer writes is by construction the text the assembler reads.

/** A token of llvm-syntax assembly, or of a syntax template (`r{dst} += {imm}`). */
export type Token =
  /** A register `r0`..`r15` / `w0`..`w15`; `slot` set when it is a template placeholder. */
  | { readonly t: 'reg'; readonly cls: 'r' | 'w'; readonly n: number; readonly slot?: 'dst' | 'src'; readonly col: number; readonly text: string }
  /** A number, with its sign folded in (`- 0x4` is one token of value -4). */
  | { readonly t: 'num'; readonly v: bigint; readonly col: number; readonly text: string }
  /** A template placeholder for a number (`{imm}`, `{off}`, `{jmp}`...). */
  | { readonly t: 'slot'; readonly name: string; readonly col: number; readonly text: string }
  /** A name: mnemonic words (`goto`, `ll`, `lock`, `u32`) or a label. */
  | { readonly t: 'ident'; readonly v: string; readonly col: number; readonly text: string }
  /** An operator or punctuation mark. */
  | { readonly t: 'punct'; readonly v: string; readonly col: number; readonly text: string };

/** Operators, longest first so that `s>>=` is not read as `s>` `>=`. */
const OPERATORS = [
  's>>=', '<<=', '>>=', 's>=', 's<=', 's/=', 's%=', 's>', 's<',
  '+=', '-=', '*=', '/=', '%=', '|=', '&=', '^=', '==', '!=', '>=', '<=',
  '>', '<', '&', '=', '(', ')', '*', '[', ']', ',', '+', '-',
];

const NUMBER = /^(0x[0-9a-fA-F]+|[0-9]+)/;
const IDENT = /^[A-Za-z_.$][\w.$]*/;

/** Where a lexing problem is, for the assembler's error. */
export class LexError extends Error {
  constructor(
    readonly col: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Splits one line (comments already removed) into tokens. `+`/`-` directly before a number
 * fold into it, so `r10 - 0x4`, `r10 -4` and `+0x3` each give one signed number token.
 * Placeholders `{name}` are read only when `template` is set. Columns are 1-based.
 */
export function tokenize(line: string, template = false): Token[] {
  const raw: Token[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const col = i + 1;
    const rest = line.slice(i);
    if (template && c === '{') {
      const end = line.indexOf('}', i);
      const name = line.slice(i + 1, end);
      const prev = raw[raw.length - 1];
      // `r{dst}` is a register placeholder of class r.
      if ((name === 'dst' || name === 'src') && prev?.t === 'ident' && (prev.v === 'r' || prev.v === 'w') && prev.col + 1 === col) {
        raw[raw.length - 1] = { t: 'reg', cls: prev.v, n: -1, slot: name, col: prev.col, text: `${prev.v}{${name}}` };
      } else {
        raw.push({ t: 'slot', name, col, text: `{${name}}` });
      }
      i = end + 1;
      continue;
    }
    const reg = /^([rw])([0-9]+)(?![\w.$])/.exec(rest);
    if (reg) {
      raw.push({ t: 'reg', cls: reg[1] as 'r' | 'w', n: Number(reg[2]), col, text: reg[0] });
      i += reg[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num) {
      if (IDENT.test(line.slice(i + num[0].length, i + num[0].length + 1))) {
        throw new LexError(col, `malformed number '${(/^[\w.$]+/.exec(rest) ?? [num[0]])[0]}'`);
      }
      raw.push({ t: 'num', v: BigInt(num[0]), col, text: num[0] });
      i += num[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      raw.push({ t: 'punct', v: op, col, text: op });
      i += op.length;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) {
      raw.push({ t: 'ident', v: id[0], col, text: id[0] });
      i += id[0].length;
      continue;
    }
    throw new LexError(col, `unexpected character '${c}'`);
  }
  // Fold a sign into the number or placeholder that follows it.
  const out: Token[] = [];
  for (let k = 0; k < raw.length; k++) {
    const tok = raw[k]!;
    const next = raw[k + 1];
    if (tok.t === 'punct' && (tok.v === '+' || tok.v === '-') && next && (next.t === 'num' || next.t === 'slot')) {
      if (next.t === 'num') out.push({ t: 'num', v: tok.v === '-' ? -next.v : next.v, col: tok.col, text: `${tok.v}${next.text}` });
      else out.push({ ...next, col: tok.col });
      k++;
      continue;
    }
    out.push(tok);
  }
  return out;
}

/**
 * The shape of a token sequence: registers become `r%`/`w%`, numbers and number
 * placeholders `#`, everything else itself. Two texts with the same shape differ only in
 * operands.
 */
export function shapeOf(tokens: readonly Token[]): string {
  return tokens
    .map((t) => {
      switch (t.t) {
        case 'reg':
          return `${t.cls}%`;
        case 'num':
        case 'slot':
          return '#';
        default:
          return t.v;
      }
    })
    .join(' ');
}
