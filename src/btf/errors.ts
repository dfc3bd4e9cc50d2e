// Errors of the BTF module: malformed .BTF/.BTF.ext bytes, missing types, unsized types.

import { BpfkitError, type BpfkitErrorOptions } from '../errors.js';

/** Which section an error is about. */
export type BtfSection = '.BTF' | '.BTF.ext';

/**
 * Malformed or inconsistent BTF: bad header, offsets past the end, dangling string offsets or
 * type ids, reference cycles... `offset` is the byte offset in `section` where the problem is.
 * Message shape: `.BTF: type 12 at offset 0x1a4: member 3 references type 9999 (only 1200 types)`.
 */
export class BtfError extends BpfkitError {
  constructor(
    /** The section the bytes belong to. */
    readonly section: BtfSection,
    /** Byte offset in the section of the faulty structure. */
    readonly offset: number,
    /** What is wrong, without the section/offset prefix. */
    readonly detail: string,
    /** The type concerned, when there is one. */
    readonly typeId?: number,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_BTF_MALFORMED', `${section}: ${typeId === undefined ? `at offset ${hex(offset)}` : `type ${typeId} at offset ${hex(offset)}`}: ${detail}`, options);
  }
}

/** A type id or name that the BTF does not contain. */
export class BtfNotFoundError extends BpfkitError {
  constructor(
    /** The id or name looked up. */
    readonly query: number | string,
    /** The kind asked for, if any. */
    readonly kind?: string,
    options?: BpfkitErrorOptions,
  ) {
    super(
      'ERR_BTF_NOT_FOUND',
      typeof query === 'number' ? `no BTF type with id ${query}` : `no BTF type named "${query}"${kind ? ` of kind ${kind}` : ''}`,
      options,
    );
  }
}

/** A size was asked of a type that has none (void, fwd, func, func_proto, decl_tag). */
export class BtfUnsizedTypeError extends BpfkitError {
  constructor(
    /** The type whose size was asked. */
    readonly typeId: number,
    /** The unsized type reached while resolving (may differ from `typeId` through typedefs). */
    readonly unsizedId: number,
    /** Kind of the unsized type. */
    readonly kind: string,
    options?: BpfkitErrorOptions,
  ) {
    super(
      'ERR_BTF_UNSIZED',
      `type ${typeId} has no size: ${unsizedId === typeId ? 'it' : `it resolves to type ${unsizedId} which`} is a ${kind}`,
      options,
    );
  }
}

/** `0x1a4`: offsets in messages are hexadecimal, like bpftool and readelf print them. */
export function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** Types that cannot be marshalled: a field out of range, void in the middle of the table... */
export class BtfEncodeError extends BpfkitError {
  constructor(
    /** Position (type id) of the offending type. */
    readonly typeId: number,
    /** What is wrong. */
    readonly detail: string,
    options?: BpfkitErrorOptions,
  ) {
    super('ERR_BTF_ENCODE', `encode BTF: type ${typeId}: ${detail}`, options);
  }
}
