// The linear memory behind an address space: one WebAssembly.Memory and a bump allocator.

/** The part of `WebAssembly.Memory` bpfkit uses (the project's TS libs do not declare WebAssembly). */
export interface WasmMemory {
  /** The current buffer; replaced (the old one detached) by `grow`. */
  readonly buffer: ArrayBuffer;
  /** Grows by `pages` 64 KiB pages; returns the old size in pages. */
  grow(pages: number): number;
}

interface WasmMemoryConstructor {
  new (descriptor: { initial: number; maximum?: number }): WasmMemory;
}

const WasmMemoryCtor = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryConstructor } }).WebAssembly.Memory;

/** Size of a WebAssembly page. */
export const WASM_PAGE = 65536;

/**
 * Bytes at the bottom of the memory that no region ever uses, so that wasm offset 0 (and every
 * small offset a NULL-based access would reach) belongs to nothing.
 */
export const RESERVED_LOW = 4096;

/**
 * One `WebAssembly.Memory` that every region of an address space lives in (a later JIT runs in
 * the same memory). Blocks are handed out by a bump allocator and never freed; `bytes` and
 * `view` are replaced whenever the memory grows, so holders re-read them after any call that
 * may allocate.
 */
export class LinearMemory {
  /** The backing memory. */
  readonly memory: WasmMemory;
  /** Byte view of the whole memory (replaced on growth). */
  bytes: Uint8Array;
  /** DataView of the whole memory (replaced on growth). */
  view: DataView;
  private top = RESERVED_LOW;
  /** The address space whose region table lives in this memory's reserved low bytes (JIT), if any. */
  regionTableOwner: object | undefined;

  constructor(initialPages = 1) {
    this.memory = new WasmMemoryCtor({ initial: initialPages });
    this.bytes = new Uint8Array(this.memory.buffer);
    this.view = new DataView(this.memory.buffer);
  }

  /** Offset of the first byte no block uses yet. */
  get used(): number {
    return this.top;
  }

  /** Allocates `size` zeroed bytes aligned to `align` (a power of two) and returns their offset. */
  alloc(size: number, align = 16): number {
    // Arithmetic, not bitwise: offsets reach 4 GiB, past what a 32-bit mask keeps positive.
    const at = Math.ceil(this.top / align) * align;
    const end = at + size;
    if (end > this.memory.buffer.byteLength) {
      this.memory.grow(Math.ceil((end - this.memory.buffer.byteLength) / WASM_PAGE));
      this.bytes = new Uint8Array(this.memory.buffer);
      this.view = new DataView(this.memory.buffer);
    }
    this.top = end;
    return at;
  }
}
