// Walking type references: sizes through typedefs/qualifiers/arrays, skipping qualifiers, cycle detection.

import { BtfError, BtfNotFoundError, BtfUnsizedTypeError } from './errors.js';
import type { BtfType } from './types.js';

/** What the walkers need of a BTF: the type table and where each type's record sits (for errors). */
export interface TypeTable {
  /** Types indexed by id; index 0 is void. */
  readonly types: readonly BtfType[];
  /** Byte offset of type `id`'s record in the .BTF section (0 when unknown). */
  typeOffset(id: number): number;
}

/** Size of a pointer on the BPF target. */
export const POINTER_SIZE = 8;

/** Largest size BTF can describe (sizes are `__u32`). */
const MAX_SIZE = 0xffffffff;

/** Type `id` of `table`, or `BtfNotFoundError`. */
export function lookupType(table: TypeTable, id: number): BtfType {
  const t = Number.isInteger(id) && id >= 0 ? table.types[id] : undefined;
  if (t === undefined) throw new BtfNotFoundError(id);
  return t;
}

/** Tracks the ids visited along one reference chain and throws a `BtfError` naming the loop. */
export class ChainGuard {
  private readonly seen: number[] = [];
  private readonly seenSet = new Set<number>();

  constructor(private readonly table: TypeTable) {}

  /** Records `id`; throws if it was already on the chain. */
  visit(id: number): void {
    if (this.seenSet.has(id)) {
      const loop = this.seen.slice(this.seen.indexOf(id));
      loop.push(id);
      const describe = (i: number): string => {
        const t = this.table.types[i];
        return t ? `${i} (${t.kind}${t.name ? ` ${t.name}` : ''})` : `${i}`;
      };
      throw new BtfError('.BTF', this.table.typeOffset(id), `reference cycle: ${loop.map(describe).join(' -> ')}`, id);
    }
    this.seen.push(id);
    this.seenSet.add(id);
  }
}

/**
 * Size in bytes of type `id`, as the C `sizeof` would give it: through typedefs, qualifiers,
 * type tags and vars, multiplying array lengths, pointers are 8 bytes. Throws
 * `BtfUnsizedTypeError` for void/fwd/func/func_proto/decl_tag and `BtfError` for cycles or
 * sizes beyond 32 bits.
 */
export function resolveSize(table: TypeTable, id: number): number {
  const guard = new ChainGuard(table);
  let mult = 1;
  let cur = id;
  for (;;) {
    const t = lookupType(table, cur);
    guard.visit(cur);
    let size: number;
    switch (t.kind) {
      case 'int':
      case 'enum':
      case 'enum64':
      case 'struct':
      case 'union':
      case 'datasec':
      case 'float':
        size = t.size;
        break;
      case 'ptr':
        size = POINTER_SIZE;
        break;
      case 'typedef':
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
      case 'var':
        cur = t.type;
        continue;
      case 'array':
        // Clamp so a chain of huge arrays cannot reach Infinity (and Infinity * 0 = NaN).
        mult = Math.min(mult * t.nelems, MAX_SIZE + 1);
        cur = t.type;
        continue;
      default:
        throw new BtfUnsizedTypeError(id, cur, t.kind);
    }
    if (size === 0 || mult === 0) return 0;
    const total = size * mult;
    if (total > MAX_SIZE) throw new BtfError('.BTF', table.typeOffset(id), `size overflows 32 bits (${mult} x ${size})`, id);
    return total;
  }
}

/** Follows const/volatile/restrict/type_tag from `id` and returns the first other type. */
export function skipQualifiers(table: TypeTable, id: number): BtfType {
  return skip(table, id, false);
}

/** Follows typedefs as well as qualifiers and type tags: the underlying concrete type of `id`. */
export function skipTypedefs(table: TypeTable, id: number): BtfType {
  return skip(table, id, true);
}

function skip(table: TypeTable, id: number, typedefs: boolean): BtfType {
  const guard = new ChainGuard(table);
  let cur = id;
  for (;;) {
    const t = lookupType(table, cur);
    guard.visit(cur);
    switch (t.kind) {
      case 'const':
      case 'volatile':
      case 'restrict':
      case 'type_tag':
        cur = t.type;
        break;
      case 'typedef':
        if (!typedefs) return t;
        cur = t.type;
        break;
      default:
        return t;
    }
  }
}
