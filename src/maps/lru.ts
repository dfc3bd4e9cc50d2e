// LRU hash maps (kernel/bpf/hashtab.c + bpf_lru_list.c): hash and per-CPU hash that evict instead of failing.
//
// The eviction machinery is a model of the kernel's bpf_lru_list, list for list:
//
// * Common LRU (default): one global list set — active, inactive, free — plus per CPU a local
//   free stack and a pending list. A new element takes a node from its CPU's local free stack;
//   when that is empty, the CPU flushes its pending nodes into the global lists (referenced ->
//   active, else inactive), rotates them (active tail -> inactive unless referenced; the
//   inactive rotation window), then moves up to target_free = clamp(max_entries / ncpus / 2, 1,
//   128) nodes from the global free list to its stack, shrinking the inactive list from its tail
//   (evicting unreferenced elements; with none, one element is evicted ignoring the reference
//   bit) for the rest; failing that it steals from other CPUs' local lists round robin.
// * BPF_F_NO_COMMON_LRU: one list set per CPU with max_entries / ncpus nodes each (max_entries
//   rounded to a multiple of the CPU count, as the kernel does), free target 4, 4 scans.
//
// As in the kernel, an update takes a node (possibly evicting) before it checks its flags, so a
// failed NOEXIST update of a full map can still evict; a replaced element's new node starts
// referenced; a program lookup sets the reference bit, a user-space lookup does not. The CPU of
// a user-space operation is `userCpu` (default 0): in the kernel it is whichever CPU the
// syscall ran on, so comparisons must pin the process (taskset) to that CPU. Nodes are
// interchangeable: which free node an element gets is not observable (only its pointer value).

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { checkHash, HashMap } from './hash.js';
import type { MapDef, MapEnv, MapFamily } from './map-ops.js';

const ACTIVE = 0;
const INACTIVE = 1;
const FREE = 2;
const LOCAL_FREE = 3;
const LOCAL_PENDING = 4;

const LOCAL_FREE_TARGET = 128;
const PERCPU_FREE_TARGET = 4;

/** One bpf_lru_list: heads of the active, inactive and free lists, counts, the inactive rotation cursor. */
interface LruList {
  readonly heads: [number, number, number];
  readonly counts: [number, number];
  nir: number;
}

/** The kernel's bpf_lru over `n` nodes (node i = hash slot i), for `cpus` CPUs. */
export class BpfLru {
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly type: Uint8Array;
  private readonly ref: Uint8Array;
  private readonly cpuOf: Uint16Array;
  private readonly lists: LruList[] = [];
  private readonly pending: number[] = [];
  private readonly localFree: number[][] = [];
  private readonly nextSteal: number[] = [];
  private readonly tmpHead: number;
  private readonly nrScans: number;
  /** Nodes a common-LRU refill moves to a CPU's local free stack. */
  readonly targetFree: number;

  constructor(
    readonly n: number,
    readonly cpus: number,
    readonly percpu: boolean,
    /** Removes the element of node `i` from the hash table (the kernel's del_from_htab). */
    private readonly evict: (node: number) => boolean,
  ) {
    const nHeads = percpu ? 3 * cpus : 3 + cpus + 1;
    this.prev = new Int32Array(n + nHeads);
    this.next = new Int32Array(n + nHeads);
    this.type = new Uint8Array(n);
    this.ref = new Uint8Array(n);
    this.cpuOf = new Uint16Array(n);
    let h = n;
    const head = (): number => {
      const id = h++;
      this.prev[id] = id;
      this.next[id] = id;
      return id;
    };
    const list = (): LruList => {
      const heads: [number, number, number] = [head(), head(), head()];
      return { heads, counts: [0, 0], nir: heads[INACTIVE] };
    };
    if (percpu) {
      for (let c = 0; c < cpus; c++) this.lists.push(list());
      this.nrScans = PERCPU_FREE_TARGET;
      this.targetFree = PERCPU_FREE_TARGET;
    } else {
      this.lists.push(list());
      for (let c = 0; c < cpus; c++) {
        this.pending.push(head());
        this.localFree.push([]);
        this.nextSteal.push(c);
      }
      this.nrScans = LOCAL_FREE_TARGET;
      this.targetFree = Math.min(Math.max(Math.floor(n / cpus / 2), 1), LOCAL_FREE_TARGET);
    }
    this.tmpHead = percpu ? -1 : head();
    this.populate();
  }

  private populate(): void {
    if (!this.percpu) {
      const l = this.lists[0]!;
      for (let i = 0; i < this.n; i++) {
        this.type[i] = FREE;
        this.add(i, l.heads[FREE]);
      }
      return;
    }
    const per = Math.floor(this.n / this.cpus);
    let i = 0;
    for (let c = 0; c < this.cpus && i < this.n; c++) {
      do {
        this.cpuOf[i] = c;
        this.type[i] = FREE;
        this.add(i, this.lists[c]!.heads[FREE]);
        i++;
      } while (i < this.n && i % per !== 0);
    }
  }

  /** Resets every node to free (map clear). */
  reset(): void {
    for (const l of this.lists) {
      for (const hd of l.heads) this.prev[hd] = this.next[hd] = hd;
      l.counts[0] = l.counts[1] = 0;
      l.nir = l.heads[INACTIVE];
    }
    for (const p of this.pending) this.prev[p] = this.next[p] = p;
    for (const f of this.localFree) f.length = 0;
    this.nextSteal.forEach((_, c) => (this.nextSteal[c] = c));
    this.ref.fill(0);
    this.populate();
  }

  // --- intrusive doubly linked lists (list_add inserts after the head; the tail is the oldest)

  private add(node: number, headId: number): void {
    const first = this.next[headId]!;
    this.next[node] = first;
    this.prev[node] = headId;
    this.prev[first] = node;
    this.next[headId] = node;
  }

  private del(node: number): void {
    const p = this.prev[node]!;
    const nx = this.next[node]!;
    this.next[p] = nx;
    this.prev[nx] = p;
  }

  private empty(headId: number): boolean {
    return this.next[headId] === headId;
  }

  /** Marks node `i` referenced (bpf_lru_node_set_ref). */
  setRef(i: number): void {
    this.ref[i] = 1;
  }

  private countInc(l: LruList, t: number): void {
    if (t < 2) l.counts[t as 0 | 1]++;
  }

  private countDec(l: LruList, t: number): void {
    if (t < 2) l.counts[t as 0 | 1]--;
  }

  /** __bpf_lru_node_move_to_free. */
  private moveToFree(l: LruList, node: number, freeHead: number, tgt: number): void {
    if (node === l.nir) l.nir = this.prev[l.nir]!;
    this.countDec(l, this.type[node]!);
    this.type[node] = tgt;
    this.del(node);
    this.add(node, freeHead);
  }

  /** __bpf_lru_node_move_in (from a local list into the LRU list). */
  private moveIn(l: LruList, node: number, tgt: number): void {
    this.countInc(l, tgt);
    this.type[node] = tgt;
    this.ref[node] = 0;
    this.del(node);
    this.add(node, l.heads[tgt as 0 | 1 | 2]);
  }

  /** __bpf_lru_node_move (between or within active/inactive/free). */
  private move(l: LruList, node: number, tgt: number): void {
    const t = this.type[node]!;
    if (t !== tgt) {
      this.countDec(l, t);
      this.countInc(l, tgt);
      this.type[node] = tgt;
    }
    this.ref[node] = 0;
    if (node === l.nir) l.nir = this.prev[l.nir]!;
    this.del(node);
    this.add(node, l.heads[tgt as 0 | 1 | 2]);
  }

  private rotateActive(l: LruList): void {
    const active = l.heads[ACTIVE];
    const first = this.next[active]!;
    let i = 0;
    for (let node = this.prev[active]!; node !== active; ) {
      const prev = this.prev[node]!;
      this.move(l, node, this.ref[node] ? ACTIVE : INACTIVE);
      if (++i === this.nrScans || node === first) break;
      node = prev;
    }
  }

  private rotateInactive(l: LruList): void {
    const inactive = l.heads[INACTIVE];
    if (this.empty(inactive)) return;
    let last = this.next[l.nir]!;
    if (last === inactive) last = this.next[last]!;
    let cur = l.nir;
    let next = inactive;
    let i = 0;
    while (i < this.nrScans) {
      if (cur === inactive) {
        cur = this.prev[cur]!;
        continue;
      }
      next = this.prev[cur]!;
      if (this.ref[cur]) this.move(l, cur, ACTIVE);
      if (cur === last) break;
      cur = next;
      i++;
    }
    l.nir = next;
  }

  private rotate(l: LruList): void {
    if (l.counts[INACTIVE] < l.counts[ACTIVE]) this.rotateActive(l);
    this.rotateInactive(l);
  }

  private shrinkInactive(l: LruList, target: number, freeHead: number, tgt: number): number {
    const inactive = l.heads[INACTIVE];
    let shrunk = 0;
    let i = 0;
    for (let node = this.prev[inactive]!; node !== inactive; ) {
      const prev = this.prev[node]!;
      if (this.ref[node]) this.move(l, node, ACTIVE);
      else if (this.evict(node)) {
        this.moveToFree(l, node, freeHead, tgt);
        if (++shrunk === target) break;
      }
      if (++i === this.nrScans) break;
      node = prev;
    }
    return shrunk;
  }

  private shrink(l: LruList, target: number, freeHead: number, tgt: number): number {
    const shrunk = this.shrinkInactive(l, target, freeHead, tgt);
    if (shrunk) return shrunk;
    const force = this.empty(l.heads[INACTIVE]) ? l.heads[ACTIVE] : l.heads[INACTIVE];
    for (let node = this.prev[force]!; node !== force; node = this.prev[node]!) {
      if (this.evict(node)) {
        this.moveToFree(l, node, freeHead, tgt);
        return 1;
      }
    }
    return 0;
  }

  private flushLocal(l: LruList, cpu: number): void {
    const p = this.pending[cpu]!;
    for (let node = this.prev[p]!; node !== p; ) {
      const prev = this.prev[node]!;
      this.moveIn(l, node, this.ref[node] ? ACTIVE : INACTIVE);
      node = prev;
    }
  }

  private refillLocal(cpu: number): void {
    const l = this.lists[0]!;
    this.flushLocal(l, cpu);
    this.rotate(l);
    const tmp = this.tmpHead;
    const free = l.heads[FREE];
    let nfree = 0;
    for (let node = this.next[free]!; node !== free; ) {
      const nx = this.next[node]!;
      this.moveToFree(l, node, tmp, LOCAL_FREE);
      if (++nfree === this.targetFree) break;
      node = nx;
    }
    if (nfree < this.targetFree) this.shrink(l, this.targetFree - nfree, tmp, LOCAL_FREE);
    for (let node = this.next[tmp]!; node !== tmp; ) {
      const nx = this.next[node]!;
      this.del(node);
      this.localFree[cpu]!.push(node);
      node = nx;
    }
  }

  private addPending(cpu: number, node: number): void {
    this.cpuOf[node] = cpu;
    this.type[node] = LOCAL_PENDING;
    this.ref[node] = 0;
    this.add(node, this.pending[cpu]!);
  }

  private popPending(cpu: number): number {
    const p = this.pending[cpu]!;
    for (const force of [false, true]) {
      for (let node = this.prev[p]!; node !== p; node = this.prev[node]!) {
        if ((!this.ref[node] || force) && this.evict(node)) {
          this.del(node);
          return node;
        }
      }
    }
    return -1;
  }

  /** bpf_lru_pop_free on `cpu`: a free node for a new element (evicting as the kernel does), or -1. */
  popFree(cpu: number): number {
    if (this.percpu) {
      const l = this.lists[cpu]!;
      this.rotate(l);
      const free = l.heads[FREE];
      if (this.empty(free)) this.shrink(l, PERCPU_FREE_TARGET, free, FREE);
      if (this.empty(free)) return -1;
      const node = this.next[free]!;
      this.ref[node] = 0;
      this.move(l, node, INACTIVE);
      return node;
    }
    let node = this.localFree[cpu]!.pop() ?? -1;
    if (node < 0) {
      this.refillLocal(cpu);
      node = this.localFree[cpu]!.pop() ?? -1;
    }
    if (node >= 0) {
      this.addPending(cpu, node);
      return node;
    }
    const first = this.nextSteal[cpu]!;
    let steal = first;
    do {
      node = this.localFree[steal]!.pop() ?? -1;
      if (node < 0) node = this.popPending(steal);
      steal = (steal + 1) % this.cpus;
    } while (node < 0 && steal !== first);
    this.nextSteal[cpu] = steal;
    if (node < 0) return -1;
    this.addPending(cpu, node);
    return node;
  }

  /** bpf_lru_push_free: node `i`'s element is gone; its node becomes free. */
  pushFree(i: number): void {
    if (this.percpu) {
      this.move(this.lists[this.cpuOf[i]!]!, i, FREE);
      return;
    }
    if (this.type[i] === LOCAL_PENDING) {
      this.type[i] = LOCAL_FREE;
      this.ref[i] = 0;
      this.del(i);
      this.localFree[this.cpuOf[i]!]!.push(i);
      return;
    }
    this.move(this.lists[0]!, i, FREE);
  }
}

/** max_entries as an LRU map has it: BPF_F_NO_COMMON_LRU rounds it to a multiple of the CPU count. */
export function lruMaxEntries(def: MapDef, cpus: number): number {
  if ((def.flags & BpfMapFlags.NO_COMMON_LRU) === 0) return def.maxEntries;
  const up = Math.ceil(def.maxEntries / cpus) * cpus;
  return up > 0xffffffff ? Math.floor(def.maxEntries / cpus) * cpus : up;
}

/** A live LRU hash or LRU per-CPU hash. */
export class LruHashMap extends HashMap {
  /** The eviction lists. */
  readonly lru: BpfLru;
  /** The CPU user-space operations run on (the kernel: whichever CPU the syscall ran on). */
  userCpu = 0;

  constructor(def: MapDef, env: MapEnv) {
    const max = lruMaxEntries(def, env.cpus);
    super(def, env, max, 0);
    this.lru = new BpfLru(max, env.cpus, (def.flags & BpfMapFlags.NO_COMMON_LRU) !== 0, (node) => this.evictNode(node));
  }

  private evictNode(s: number): boolean {
    // del_from_htab: unlink the element if it is still in its bucket.
    const b = this.hashes[s]! & (this.nBuckets - 1);
    for (let t = this.heads[b]!; t >= 0; t = this.next[t]!) {
      if (t === s) {
        this.unlink(s);
        this.live--;
        return true;
      }
    }
    return false;
  }

  protected override touch(s: number): void {
    this.lru.setRef(s);
  }

  protected override freeSlot(s: number): void {
    this.lru.pushFree(s);
  }

  protected override store(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number, cpu: number): number {
    if (flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
    const hash = this.hashOf(key, keyOffset);
    const onCpu = cpu >= 0 ? cpu : this.userCpu;
    let s = -1;
    if (!(this.perCpu && flags === BpfUpdateFlags.EXIST)) {
      s = this.lru.popFree(onCpu);
      if (s < 0) return -MapErrno.ENOMEM;
    }
    const old = this.find(key, keyOffset, hash);
    let err = 0;
    if (old >= 0 && flags === BpfUpdateFlags.NOEXIST) err = -MapErrno.EEXIST;
    else if (old < 0 && flags === BpfUpdateFlags.EXIST) err = -MapErrno.ENOENT;
    if (err !== 0) {
      if (s >= 0) this.lru.pushFree(s);
      return err;
    }
    if (this.perCpu && old >= 0) {
      this.lru.setRef(old);
      this.writeValue(old, value, valueOffset, cpu, false);
      if (s >= 0) this.lru.pushFree(s);
      return 0;
    }
    const ks = this.def.keySize;
    this.keyStore.set(key.subarray(keyOffset, keyOffset + ks), s * ks);
    this.hashes[s] = hash;
    this.writeValue(s, value, valueOffset, cpu, true);
    const b = hash & (this.nBuckets - 1);
    this.next[s] = this.heads[b]!;
    this.heads[b] = s;
    if (old >= 0) {
      this.lru.setRef(s);
      this.unlink(old);
      this.lru.pushFree(old);
    } else {
      this.live++;
    }
    return 0;
  }

  protected override cleared(): void {
    this.lru.reset();
  }
}

/** BPF_MAP_TYPE_LRU_HASH and BPF_MAP_TYPE_LRU_PERCPU_HASH. */
export const lruHashFamily: MapFamily = {
  types: [BpfMapType.LRU_HASH, BpfMapType.LRU_PERCPU_HASH],
  check: checkHash,
  create: (def, env) => new LruHashMap(def, env),
};
