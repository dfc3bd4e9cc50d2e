// KernelMap: the shared BpfMap API (src/maps/bpf-map.ts) over a kernel map fd.
import type { BpfMap, UpdateMode } from '../maps/bpf-map.js';
import { InvalidArgumentError } from './bpf/input-errors.js';
import { lookupBatch } from './bpf/map-batch.js';
import { deleteElem, keys as mapKeys, lookupElem, lookupElemPrefix, updateElem, updateElemAllCpus } from './bpf/map-elem.js';
import { joinPerCpu, possibleCpus, splitPerCpu, type MapFd } from './bpf/map-fd.js';
import { UpdateFlags } from './bpf/constants.js';
import { isUnsupportedErrno } from './feature-probe.js';
import { Errno } from './errno.js';
import { isErrno } from './kernel-error.js';

const MODE_FLAGS: Readonly<Record<UpdateMode, number>> = { any: UpdateFlags.ANY, noexist: UpdateFlags.NOEXIST, exist: UpdateFlags.EXIST };

/**
 * A kernel map with the same API as a userspace runtime map. Keys and values are raw bytes;
 * per-CPU values are split into one `valueSize`-byte view per possible CPU (the kernel pads
 * each slot to 8 bytes). Disposing closes the fd (the map lives on while a program or a pin
 * holds it).
 */
export class KernelMap implements BpfMap, Disposable {
  /** The fd, with the attributes element operations check. */
  readonly fd: MapFd;
  /** Map name (the spec's name; global data: `.data`, `.rodata`...). */
  readonly name: string;

  // How much of a looked-up value get() returns: -1 (all of it), or one CPU's value.
  readonly #getLength: number;

  /** Wraps `fd` (takes ownership) under `name`. */
  constructor(fd: MapFd, name: string) {
    this.fd = fd;
    this.name = name;
    this.#getLength = fd.perCpu ? fd.attributes.valueSize : -1;
  }

  get type(): number {
    return this.fd.attributes.type;
  }
  get keySize(): number {
    return this.fd.attributes.keySize;
  }
  get valueSize(): number {
    return this.fd.attributes.valueSize;
  }
  get maxEntries(): number {
    return this.fd.attributes.maxEntries;
  }
  get flags(): number {
    return this.fd.attributes.flags;
  }
  get perCpu(): boolean {
    return this.fd.perCpu;
  }
  get cpus(): number {
    return this.perCpu ? possibleCpus(this.fd.sys) : 1;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    // Per-CPU: the first CPU's value, copied alone.
    return lookupElemPrefix(this.fd, key, this.#getLength);
  }

  getPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    const v = lookupElem(this.fd, key);
    if (v === undefined) return undefined;
    return this.perCpu ? splitPerCpu(v, this.valueSize).map((s) => s.slice()) : [v];
  }

  set(key: Uint8Array, value: Uint8Array, mode: UpdateMode = 'any'): void {
    // Per-CPU: the value written into every CPU's slot of the call block, no padded copy built.
    updateElemAllCpus(this.fd, key, value, MODE_FLAGS[mode]);
  }

  setPerCpu(key: Uint8Array, values: readonly Uint8Array[], mode: UpdateMode = 'any'): void {
    if (!this.perCpu) {
      if (values.length !== 1) throw new InvalidArgumentError('values', `map "${this.name}" is not per-CPU: give exactly one value, got ${values.length}`);
      return updateElem(this.fd, key, values[0]!, MODE_FLAGS[mode]);
    }
    if (values.length !== this.cpus) throw new InvalidArgumentError('values', `map "${this.name}" has ${this.cpus} CPU slots, got ${values.length} values`);
    updateElem(this.fd, key, joinPerCpu(values, this.valueSize), MODE_FLAGS[mode]);
  }

  delete(key: Uint8Array): boolean {
    return deleteElem(this.fd, key);
  }

  *keys(): IterableIterator<Uint8Array> {
    yield* mapKeys(this.fd);
  }

  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    for (const k of mapKeys(this.fd)) {
      const v = this.get(k);
      if (v !== undefined) yield [k, v];
    }
  }

  *entriesPerCpu(): IterableIterator<[Uint8Array, Uint8Array[]]> {
    for (const k of mapKeys(this.fd)) {
      const v = this.getPerCpu(k);
      if (v !== undefined) yield [k, v];
    }
  }

  /**
   * Every entry, read with BPF_MAP_LOOKUP_BATCH `batchSize` at a time where the map type
   * supports it (hash and array families), else with get-next-key + lookup. Values per CPU.
   */
  dump(batchSize = 256): [Uint8Array, Uint8Array[]][] {
    const out: [Uint8Array, Uint8Array[]][] = [];
    try {
      let cursor;
      let size = Math.max(1, batchSize);
      for (;;) {
        let r;
        try {
          r = lookupBatch(this.fd, size, cursor);
        } catch (err) {
          // A hash bucket holds more elements than `size` (the kernel copies whole buckets and
          // answers ENOSPC without moving the cursor): ask again with room for it.
          if (!isErrno(err, Errno.ENOSPC) || size >= this.maxEntries) throw err;
          size = Math.min(size * 2, this.maxEntries);
          continue;
        }
        r.keys.forEach((k, i) => out.push([k, this.perCpu ? splitPerCpu(r.values[i]!, this.valueSize).map((s) => s.slice()) : [r.values[i]!]]));
        cursor = r.next;
        if (!cursor) return out;
      }
    } catch (err) {
      if (!isUnsupportedErrno(err) || out.length > 0) throw err;
    }
    return [...this.entriesPerCpu()];
  }

  /** Closes the fd. */
  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
