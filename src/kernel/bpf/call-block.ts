// Call blocks: one memory block per hot call site (a map, a program's test runs) so a bpf(2) call marshals nothing.
import { BpfkitError } from '../../errors.js';
import { KernelError } from '../kernel-error.js';
import type { BpfCallBlock, PointerField, Sys } from '../sys.js';

/** A {@link BpfCallBlock} was used after it was freed (its map or program was closed). */
export class CallBlockFreedError extends BpfkitError {
  constructor() {
    super('ERR_CALL_BLOCK_FREED', 'bpf call block used after it was freed (was its map or program closed?)');
  }
}

/** A block layout error: a slot or area outside the block. A bpfkit bug, not a user error. */
export class CallBlockRangeError extends BpfkitError {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly size: number,
  ) {
    super('ERR_CALL_BLOCK_RANGE', `bytes ${offset}..${offset + length} lie outside the ${size}-byte call block`);
  }
}

/** Throws {@link CallBlockRangeError} unless `[offset, offset + length)` lies in a `size`-byte block. */
export function checkBlockRange(offset: number, length: number, size: number): void {
  if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new CallBlockRangeError(offset, length, size);
  }
}

interface Pointee {
  readonly target: number;
  readonly length: number;
}

/**
 * A call block over the generic `Sys.bpf` path, for a Sys without `bpfBlock` (fakes, wrappers):
 * each call passes the attr and its pointees as subarrays of one JS buffer with PointerFields.
 */
class EmulatedBpfBlock implements BpfCallBlock {
  #bytes: Uint8Array;
  #freed = false;
  readonly #pointees = new Map<number, Pointee>();

  constructor(
    readonly sys: Sys,
    size: number,
  ) {
    this.#bytes = new Uint8Array(size);
  }

  get bytes(): Uint8Array {
    if (this.#freed) throw new CallBlockFreedError();
    return this.#bytes;
  }

  get freed(): boolean {
    return this.#freed;
  }

  point(slot: number, target: number, length: number): void {
    if (this.#freed) throw new CallBlockFreedError();
    checkBlockRange(slot, 8, this.#bytes.length);
    checkBlockRange(target, length, this.#bytes.length);
    this.#pointees.set(slot, { target, length });
  }

  call(cmd: number, attrOffset: number, attrSize: number): number {
    if (this.#freed) throw new CallBlockFreedError();
    checkBlockRange(attrOffset, attrSize, this.#bytes.length);
    const attr = this.#bytes.subarray(attrOffset, attrOffset + attrSize);
    const pointers: PointerField[] = [];
    for (const [slot, { target, length }] of this.#pointees) {
      if (slot < attrOffset || slot + 8 > attrOffset + attrSize || length === 0) continue;
      pointers.push({ offset: slot - attrOffset, target: this.#bytes.subarray(target, target + length), direction: 'inout' });
    }
    if (this.sys.tryBpf) return this.sys.tryBpf(cmd, attr, pointers);
    try {
      return this.sys.bpf(cmd, attr, pointers);
    } catch (err) {
      if (err instanceof KernelError) return -err.errno;
      throw err;
    }
  }

  free(): void {
    this.#freed = true;
    this.#bytes = new Uint8Array(0);
  }
}

/**
 * A call block of `size` bytes: native memory from `sys.bpfBlock` when the Sys offers it, else
 * an emulation over `sys.bpf` (same behaviour, one marshalling per call).
 */
export function bpfCallBlock(sys: Sys, size: number): BpfCallBlock {
  if (!Number.isInteger(size) || size <= 0) throw new CallBlockRangeError(0, size, 0);
  return sys.bpfBlock ? sys.bpfBlock(size) : new EmulatedBpfBlock(sys, size);
}
