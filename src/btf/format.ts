// C-like spelling of a BTF type: `struct datarec`, `unsigned int[4]`, `int (*)(void *)`.

import { BtfError } from './errors.js';
import { ChainGuard, lookupType, type TypeTable } from './resolve.js';
import type { BtfType } from './types.js';

/** Function prototypes nested deeper than this (through parameters) are refused. */
const MAX_NESTING = 64;
/** Types visited in one `formatType` call before giving up (guards against exponential fan-out). */
const MAX_STEPS = 100_000;

/**
 * Spells type `id` as C would declare it, around `declarator` (a variable or parameter name,
 * `''` for an abstract type name): `const char *`, `int (*cb)(void *, int)`, `struct datarec[4]`.
 * A FUNC prints as its prototype with its name, a VAR as its declaration. Anonymous
 * struct/union/enum print as `struct {...}`. Throws `BtfError` on reference cycles.
 */
export function formatType(table: TypeTable, id: number, declarator = ''): string {
  const state = { steps: 0 };
  return formatDecl(table, id, declarator, 0, state);
}

function formatDecl(table: TypeTable, id: number, declarator: string, depth: number, state: { steps: number }): string {
  if (depth > MAX_NESTING) throw new BtfError('.BTF', table.typeOffset(id), `type nesting deeper than ${MAX_NESTING} levels`, id);
  const guard = new ChainGuard(table);
  let d = declarator;
  let quals: string[] = [];
  let cur = id;
  for (;;) {
    if (++state.steps > MAX_STEPS) throw new BtfError('.BTF', table.typeOffset(id), `type too complex to format (over ${MAX_STEPS} steps)`, id);
    const t = lookupType(table, cur);
    guard.visit(cur);
    switch (t.kind) {
      case 'const':
      case 'volatile':
      case 'restrict':
        quals.push(t.kind);
        cur = t.type;
        break;
      case 'type_tag':
        quals.push(`__attribute__((btf_type_tag("${t.name}")))`);
        cur = t.type;
        break;
      case 'ptr':
        d = `*${quals.length > 0 ? ` ${quals.join(' ')}${d ? ' ' : ''}` : ''}${d}`;
        quals = [];
        cur = t.type;
        break;
      case 'array':
        if (d.startsWith('*')) d = `(${d})`;
        d = `${d}[${t.nelems}]`;
        cur = t.type;
        break;
      case 'func_proto': {
        if (d.startsWith('*')) d = `(${d})`;
        const params = t.params.map((p, i) =>
          p.type === 0 && p.name === '' && i === t.params.length - 1 && i > 0 ? '...' : formatDecl(table, p.type, p.name, depth + 1, state),
        );
        d = `${d}(${params.length > 0 ? params.join(', ') : 'void'})`;
        quals = [];
        cur = t.returnType;
        break;
      }
      case 'func':
      case 'var':
        if (d === '') d = t.name;
        cur = t.type;
        break;
      case 'datasec':
        return `SEC("${t.name}")`;
      case 'decl_tag':
        return `__attribute__((btf_decl_tag("${t.name}")))`;
      default: {
        const prefix = quals.length > 0 ? `${quals.join(' ')} ` : '';
        const sep = d === '' || d.startsWith('[') ? '' : ' ';
        return `${prefix}${baseName(t)}${sep}${d}`;
      }
    }
  }
}

/** The name of a type that declarators wrap: `int`, `struct foo`, `enum {...}`, `void`. */
function baseName(t: BtfType): string {
  switch (t.kind) {
    case 'void':
      return 'void';
    case 'struct':
    case 'union':
      return `${t.kind} ${t.name || '{...}'}`;
    case 'enum':
    case 'enum64':
      return `enum ${t.name || '{...}'}`;
    case 'fwd':
      return `${t.fwdKind} ${t.name}`;
    default:
      return t.name || '(anon)';
  }
}
