// A growable byte buffer with typed writes in either byte order; the writers' output stage.

/** Appends bytes and integers to a buffer that grows by doubling; `take()` returns and resets. */
export class ByteSink {
  private buf: Uint8Array;
  private dv: DataView;
  /** Bytes written since the last take(). */
  length = 0;

  constructor(initialCapacity = 4096) {
    this.buf = new Uint8Array(initialCapacity);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const grown = new Uint8Array(cap);
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
    this.dv = new DataView(grown.buffer);
  }

  /** Appends one byte. */
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.length++] = v;
  }

  /** Appends a 16-bit unsigned integer. */
  u16(v: number, littleEndian: boolean): void {
    this.reserve(2);
    this.dv.setUint16(this.length, v, littleEndian);
    this.length += 2;
  }

  /** Appends a 32-bit unsigned integer. */
  u32(v: number, littleEndian: boolean): void {
    this.reserve(4);
    this.dv.setUint32(this.length, v >>> 0, littleEndian);
    this.length += 4;
  }

  /** Appends bytes. */
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }

  /** Appends `b[offset, offset + n)` (a short range byte by byte: no view object). */
  range(b: Uint8Array, offset: number, n: number): void {
    this.reserve(n);
    const buf = this.buf;
    let at = this.length;
    if (n <= 128) for (let i = offset, end = offset + n; i < end; i++) buf[at++] = b[i]!;
    else buf.set(b.subarray(offset, offset + n), at);
    this.length += n;
  }

  /** Appends zero bytes until the length is a multiple of `align`. */
  pad(align: number): void {
    const n = (align - (this.length % align)) % align;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }

  /** Overwrites a 32-bit value at `offset` (to patch a length written earlier). */
  patchU32(offset: number, v: number, littleEndian: boolean): void {
    this.dv.setUint32(offset, v >>> 0, littleEndian);
  }

  /** Returns a copy of the bytes written and empties the sink. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}
