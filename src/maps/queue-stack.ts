// Queue and stack maps (kernel/bpf/queue_stack_maps.c): a ring of max_entries + 1 value slots.
//
// push (BPF_MAP_UPDATE_ELEM with no key, bpf_map_push_elem) writes at `head`; a queue pops at
// `tail` (oldest first), a stack at `head - 1` (newest first). A full map refuses a push with
// E2BIG unless the flags say BPF_EXIST, which drops the oldest element to make room (for a stack
// too). An empty map pops/peeks -ENOENT and zeroes the destination. There are no keys: lookup,
// update, delete and get_next_key are EINVAL/NULL, as in the kernel.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { ACCESS_MASK, allocMapRegions, checkFlags, ensure, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** KMALLOC_MAX_SIZE on x86-64. */
const KMALLOC_MAX_SIZE = 1 << 22;

/** A live queue or stack. */
export class QueueStackMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** True for BPF_MAP_TYPE_STACK. */
  readonly isStack: boolean;
  private readonly size: number;
  private head = 0;
  private tail = 0;
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    this.isStack = def.type === BpfMapType.STACK;
    this.size = def.maxEntries + 1;
    this.regions = allocMapRegions(env, def, this.size * def.valueSize, false);
    this.address = this.regions.address;
  }

  private empty(): boolean {
    return this.head === this.tail;
  }

  private full(): boolean {
    const next = this.head + 1 >= this.size ? 0 : this.head + 1;
    return next === this.tail;
  }

  private slot(i: number): number {
    return this.regions.data.start + i * this.def.valueSize;
  }

  push(value: Uint8Array, valueOffset: number, flags: number): number {
    if ((flags & BpfUpdateFlags.NOEXIST) !== 0 || flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
    if (this.full()) {
      if ((flags & BpfUpdateFlags.EXIST) === 0) return -MapErrno.E2BIG;
      if (++this.tail >= this.size) this.tail = 0;
    }
    this.env.space.memory.bytes.set(value.subarray(valueOffset, valueOffset + this.def.valueSize), this.slot(this.head));
    if (++this.head >= this.size) this.head = 0;
    return 0;
  }

  pop(out: Uint8Array, outOffset: number, remove: boolean): number {
    const vs = this.def.valueSize;
    if (this.empty()) {
      out.fill(0, outOffset, outOffset + vs);
      return -MapErrno.ENOENT;
    }
    let index: number;
    if (this.isStack) {
      index = this.head - 1;
      if (index < 0) index = this.size - 1;
    } else {
      index = this.tail;
    }
    const mem = this.env.space.memory.bytes;
    out.set(mem.subarray(this.slot(index), this.slot(index) + vs), outOffset);
    if (remove) {
      if (this.isStack) this.head = index;
      else if (++this.tail >= this.size) this.tail = 0;
    }
    return 0;
  }

  lookup(_key?: Uint8Array, _keyOffset?: number, _cpu?: number): number {
    return 0;
  }
  update(_key?: Uint8Array, _keyOffset?: number, _value?: Uint8Array, _valueOffset?: number, _flags?: number, _cpu?: number): number {
    return -MapErrno.EINVAL;
  }
  delete(_key?: Uint8Array, _keyOffset?: number): number {
    return -MapErrno.EINVAL;
  }

  /** BPF_MAP_LOOKUP_ELEM with no key: peek (the syscall's behaviour for queue/stack). */
  read(_key?: Uint8Array): Uint8Array | undefined {
    const out = new Uint8Array(this.def.valueSize);
    return this.pop(out, 0, false) === 0 ? out : undefined;
  }

  /** BPF_MAP_UPDATE_ELEM with no key: push. */
  write(_key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.push(value, 0, flags);
  }

  /** Queues and stacks have no keys (the kernel answers EINVAL): undefined. */
  nextKey(_key?: Uint8Array): Uint8Array | undefined {
    return undefined;
  }

  count(): number {
    return (this.head - this.tail + this.size) % this.size;
  }

  clear(): void {
    this.head = 0;
    this.tail = 0;
  }
}

/** BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK. */
export const queueStackFamily: MapFamily = {
  types: [BpfMapType.QUEUE, BpfMapType.STACK],
  check(def) {
    ensure(def, def.maxEntries > 0, 'maxEntries', 'needs max_entries > 0');
    ensure(def, def.keySize === 0, 'keySize', 'queues and stacks have no keys (key_size 0)');
    ensure(def, def.valueSize > 0, 'valueSize', 'value_size must be > 0');
    checkFlags(def, BpfMapFlags.NUMA_NODE | ACCESS_MASK, 'a queue/stack');
    ensure(def, def.valueSize <= KMALLOC_MAX_SIZE, 'valueSize', 'value_size above KMALLOC_MAX_SIZE', MapErrno.E2BIG);
  },
  create: (def, env) => new QueueStackMap(def, env),
};
