// The BTF string table: NUL-terminated UTF-8 strings addressed by byte offset, read and built.

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

/** Read-only view of a string section; decodes on demand (short ASCII names decode fastest uncached). */
export class StringTable {
  /** `bytes` is the string section alone (offset 0 = its first byte). */
  constructor(readonly bytes: Uint8Array) {}

  /** Size of the table in bytes. */
  get length(): number {
    return this.bytes.length;
  }

  /** The string at `offset`, or `undefined` when `offset` is out of range or the string is not terminated. */
  lookup(offset: number): string | undefined {
    const b = this.bytes;
    if (!Number.isInteger(offset) || offset < 0 || offset >= b.length) return undefined;
    const end = b.indexOf(0, offset);
    if (end < 0) return undefined;
    return decode(b, offset, end);
  }
}

/** Decodes `b[start, end)`: a fast path for short ASCII (nearly every BTF name), UTF-8 otherwise. */
function decode(b: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = '';
    for (let i = start; i < end; i++) {
      const c = b[i] as number;
      if (c >= 0x80) return utf8.decode(b.subarray(start, end));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8.decode(b.subarray(start, end));
}

/**
 * Builds a string table, optionally starting from an existing one whose bytes are kept verbatim
 * (so offsets other sections hold, such as .BTF.ext line info, stay valid). `add` returns the
 * offset of an existing identical string when there is one, else appends.
 */
export class StringTableBuilder {
  private chunks: Uint8Array[] = [];
  private size = 0;
  private index: Map<string, number> | undefined;
  private readonly initial: Uint8Array;

  /** Starts from `initial` (kept verbatim, a NUL added if it lacks the final one) or from the single empty string. */
  constructor(initial?: Uint8Array) {
    let init = initial && initial.length > 0 ? initial : new Uint8Array(1);
    if (init[init.length - 1] !== 0) {
      const terminated = new Uint8Array(init.length + 1);
      terminated.set(init);
      init = terminated;
    }
    this.initial = init;
    this.size = init.length;
  }

  /** Current size in bytes. */
  get length(): number {
    return this.size;
  }

  /** Offset of `s` in the table, appending it if absent. The empty string is offset 0. */
  add(s: string): number {
    if (s === '') return 0;
    const index = this.buildIndex();
    const found = index.get(s);
    if (found !== undefined) return found;
    const enc = utf8Encoder.encode(s);
    const off = this.size;
    const chunk = new Uint8Array(enc.length + 1);
    chunk.set(enc);
    this.chunks.push(chunk);
    this.size += chunk.length;
    index.set(s, off);
    return off;
  }

  /** The table's bytes. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.size);
    out.set(this.initial);
    let off = this.initial.length;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  /** Maps each string that starts right after a NUL in the initial table to its first offset. */
  private buildIndex(): Map<string, number> {
    if (this.index) return this.index;
    const index = new Map<string, number>();
    const b = this.initial;
    let start = 0;
    while (start < b.length) {
      const end = b.indexOf(0, start); // the table ends with a NUL: never -1
      if (end > start) {
        const s = decode(b, start, end);
        if (!index.has(s)) index.set(s, start);
      }
      start = end + 1;
    }
    this.index = index;
    return index;
  }
}
