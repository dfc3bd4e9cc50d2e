// LPM trie maps (kernel/bpf/lpm_trie.c): longest-prefix match over a path-compressed binary trie.
//
// A key is `struct bpf_lpm_trie_key_u8`: a host-order u32 prefix length, then key_size - 4 data
// bytes read most significant bit first (network order). The trie has the kernel's shape —
// intermediate nodes only where two prefixes branch, each with exactly two children — which
// for a given set of prefixes is unique, so get_next_key's post-order walk (children 0 then 1,
// then the node; intermediate nodes skipped; from a missing key, the leftmost-deepest node)
// returns keys in exactly the kernel's order. Stored data keeps the bytes past the prefix as
// given, as the kernel's does. A new prefix on a full trie is ENOSPC (the kernel's
// trie_check_add_elem), BPF_F_NO_PREALLOC is required, prefix lengths past key_size - 4 bytes
// are EINVAL. Values live in preallocated slots of the map's region; replacing a prefix moves
// it to a fresh slot, as the kernel allocates a fresh node.

import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../isa/uapi.generated.js';
import { MapErrno } from './errors.js';
import { ACCESS_MASK, allocMapRegions, checkFlags, ensure, readU32, stride8, type MapRegions } from './map-memory.js';
import type { MapDef, MapEnv, MapFamily, MapOps } from './map-ops.js';

/** Data bytes of a key: 1..256. */
export const LPM_DATA_SIZE_MAX = 256;
const KMALLOC_MAX_SIZE = 1 << 22;
/** LPM_VAL_SIZE_MAX: KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - sizeof(struct lpm_trie_node). */
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 24;

interface TrieNode {
  prefixlen: number;
  data: Uint8Array;
  /** Intermediate: a branch point, not an element. */
  im: boolean;
  child: [TrieNode | null, TrieNode | null];
  /** Value slot index (-1 for intermediate nodes). */
  slot: number;
}

function bit(data: Uint8Array, offset: number, index: number): 0 | 1 {
  return ((data[offset + (index >>> 3)]! >>> (7 - (index & 7))) & 1) as 0 | 1;
}

/** A live LPM trie. */
export class LpmTrieMap implements MapOps {
  readonly address: number;
  readonly perCpu = false;
  /** Data bytes per key (key_size - 4). */
  readonly dataSize: number;
  /** dataSize * 8. */
  readonly maxPrefixlen: number;
  /** The root holder: child[0] is the root. */
  private readonly holder: TrieNode;
  private entries = 0;
  private readonly stride: number;
  private readonly free: number[];
  private readonly regions: MapRegions;

  constructor(
    readonly def: MapDef,
    private readonly env: MapEnv,
  ) {
    this.dataSize = def.keySize - 4;
    this.maxPrefixlen = this.dataSize * 8;
    this.holder = { prefixlen: 0, data: new Uint8Array(0), im: true, child: [null, null], slot: -1 };
    this.stride = stride8(def.valueSize);
    const capacity = def.maxEntries + 1;
    this.regions = allocMapRegions(env, def, capacity * this.stride);
    this.address = this.regions.address;
    this.free = Array.from({ length: capacity }, (_, i) => capacity - 1 - i);
  }

  /** min(node.prefixlen, key prefixlen, number of equal leading bits). */
  private matchLen(node: TrieNode, key: Uint8Array, ko: number, keyPrefixlen: number): number {
    const limit = Math.min(node.prefixlen, keyPrefixlen);
    let n = 0;
    for (let i = 0; i < this.dataSize && n < limit; i++) {
      const x = node.data[i]! ^ key[ko + 4 + i]!;
      if (x === 0) {
        n += 8;
        continue;
      }
      n += Math.clz32(x) - 24;
      break;
    }
    return Math.min(n, limit);
  }

  private valueAddress(slot: number): number {
    return this.regions.data.address(slot * this.stride);
  }

  /** The node with the longest prefix matching the key, or null. */
  private match(key: Uint8Array, ko: number): TrieNode | null {
    const keyPrefixlen = readU32(key, ko);
    let found: TrieNode | null = null;
    for (let node = this.holder.child[0]; node; ) {
      const m = this.matchLen(node, key, ko, keyPrefixlen);
      if (m === this.maxPrefixlen) return node;
      if (m < node.prefixlen) break;
      if (!node.im) found = node;
      node = node.child[bit(key, ko + 4, node.prefixlen)];
    }
    return found;
  }

  lookup(key: Uint8Array, keyOffset: number): number {
    const n = this.match(key, keyOffset);
    return n ? this.valueAddress(n.slot) : 0;
  }

  private checkAdd(flags: number): number {
    if (flags === BpfUpdateFlags.EXIST) return -MapErrno.ENOENT;
    if (this.entries >= this.def.maxEntries) return -MapErrno.ENOSPC;
    this.entries++;
    return 0;
  }

  update(key: Uint8Array, keyOffset: number, value: Uint8Array, valueOffset: number, flags: number): number {
    if (flags > BpfUpdateFlags.EXIST) return -MapErrno.EINVAL;
    const prefixlen = readU32(key, keyOffset);
    if (prefixlen > this.maxPrefixlen) return -MapErrno.EINVAL;
    const fresh = (): TrieNode => {
      const slot = this.free.pop()!;
      this.env.space.memory.bytes.set(value.subarray(valueOffset, valueOffset + this.def.valueSize), this.regions.data.start + slot * this.stride);
      return { prefixlen, data: key.slice(keyOffset + 4, keyOffset + 4 + this.dataSize), im: false, child: [null, null], slot };
    };
    let parent = this.holder;
    let which: 0 | 1 = 0;
    let node = parent.child[0];
    let m = 0;
    while (node) {
      m = this.matchLen(node, key, keyOffset, prefixlen);
      if (node.prefixlen !== m || node.prefixlen === prefixlen) break;
      parent = node;
      which = bit(key, keyOffset + 4, node.prefixlen);
      node = node.child[which];
    }
    if (!node) {
      const rc = this.checkAdd(flags);
      if (rc < 0) return rc;
      parent.child[which] = fresh();
      return 0;
    }
    if (node.prefixlen === m) {
      if (!node.im) {
        if (flags === BpfUpdateFlags.NOEXIST) return -MapErrno.EEXIST;
      } else {
        const rc = this.checkAdd(flags);
        if (rc < 0) return rc;
      }
      const n = fresh();
      n.child = node.child;
      parent.child[which] = n;
      if (node.slot >= 0) this.free.push(node.slot);
      return 0;
    }
    const rc = this.checkAdd(flags);
    if (rc < 0) return rc;
    const n = fresh();
    if (m === prefixlen) {
      n.child[bit(node.data, 0, m)] = node;
      parent.child[which] = n;
      return 0;
    }
    const im: TrieNode = { prefixlen: m, data: node.data.slice(), im: true, child: [null, null], slot: -1 };
    if (bit(key, keyOffset + 4, m)) im.child = [node, n];
    else im.child = [n, node];
    parent.child[which] = im;
    return 0;
  }

  delete(key: Uint8Array, keyOffset: number): number {
    const prefixlen = readU32(key, keyOffset);
    if (prefixlen > this.maxPrefixlen) return -MapErrno.EINVAL;
    let grand: TrieNode | null = null;
    let grandWhich: 0 | 1 = 0;
    let parent = this.holder;
    let which: 0 | 1 = 0;
    let node = parent.child[0];
    let m = 0;
    while (node) {
      m = this.matchLen(node, key, keyOffset, prefixlen);
      if (node.prefixlen !== m || node.prefixlen === prefixlen) break;
      grand = parent;
      grandWhich = which;
      parent = node;
      which = bit(key, keyOffset + 4, node.prefixlen);
      node = node.child[which];
    }
    if (!node || node.prefixlen !== prefixlen || node.prefixlen !== m || node.im) return -MapErrno.ENOENT;
    this.entries--;
    this.free.push(node.slot);
    if (node.child[0] && node.child[1]) {
      node.im = true;
      node.slot = -1;
      return 0;
    }
    if (grand && parent !== this.holder && parent.im && !node.child[0] && !node.child[1]) {
      grand.child[grandWhich] = parent.child[which === 0 ? 1 : 0];
      return 0;
    }
    parent.child[which] = node.child[0] ?? node.child[1];
    return 0;
  }

  read(key: Uint8Array): Uint8Array | undefined {
    const n = this.match(key, 0);
    if (!n) return undefined;
    const at = this.regions.data.start + n.slot * this.stride;
    return this.env.space.memory.bytes.slice(at, at + this.def.valueSize);
  }

  write(key: Uint8Array, value: Uint8Array, flags: number): number {
    return this.update(key, 0, value, 0, flags);
  }

  private keyOf(n: TrieNode): Uint8Array {
    const out = new Uint8Array(this.def.keySize);
    new DataView(out.buffer).setUint32(0, n.prefixlen, true);
    out.set(n.data, 4);
    return out;
  }

  private leftmost(from: TrieNode | null): TrieNode | undefined {
    let next: TrieNode | undefined;
    for (let node = from; node; ) {
      if (node.im) node = node.child[0];
      else {
        next = node;
        node = node.child[0] ?? next.child[1];
      }
    }
    return next;
  }

  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const root = this.holder.child[0];
    if (!root) return undefined;
    const prefixlen = key === undefined ? 0 : readU32(key, 0);
    if (key === undefined || prefixlen > this.maxPrefixlen) return this.first(root);
    const stack: TrieNode[] = [];
    let node: TrieNode | null = root;
    let m = 0;
    while (node) {
      stack.push(node);
      m = this.matchLen(node, key, 0, prefixlen);
      if (node.prefixlen !== m || node.prefixlen === prefixlen) break;
      node = node.child[bit(key, 4, node.prefixlen)];
    }
    if (!node || node.prefixlen !== m || node.im) return this.first(root);
    node = stack[stack.length - 1]!;
    for (let sp = stack.length - 1; sp > 0; sp--) {
      const parent: TrieNode = stack[sp - 1]!;
      if (parent.child[0] === node && parent.child[1]) return this.first(parent.child[1]);
      if (!parent.im) return this.keyOf(parent);
      node = parent;
    }
    return undefined;
  }

  private first(from: TrieNode): Uint8Array | undefined {
    const n = this.leftmost(from);
    return n ? this.keyOf(n) : undefined;
  }

  count(): number {
    return this.entries;
  }

  clear(): void {
    this.holder.child[0] = null;
    this.entries = 0;
    const capacity = this.def.maxEntries + 1;
    this.free.length = 0;
    for (let i = capacity - 1; i >= 0; i--) this.free.push(i);
  }
}

/** BPF_MAP_TYPE_LPM_TRIE. */
export const lpmTrieFamily: MapFamily = {
  types: [BpfMapType.LPM_TRIE],
  check(def) {
    ensure(def, def.maxEntries > 0, 'maxEntries', 'needs max_entries > 0');
    ensure(def, (def.flags & BpfMapFlags.NO_PREALLOC) !== 0, 'flags', 'an LPM trie must be created with BPF_F_NO_PREALLOC');
    checkFlags(def, BpfMapFlags.NO_PREALLOC | BpfMapFlags.NUMA_NODE | ACCESS_MASK, 'an LPM trie');
    ensure(def, def.keySize >= 5 && def.keySize <= 4 + LPM_DATA_SIZE_MAX, 'keySize', `keys are a u32 prefix length and 1..${LPM_DATA_SIZE_MAX} data bytes (key_size 5..260)`);
    ensure(def, def.valueSize >= 1 && def.valueSize <= LPM_VAL_SIZE_MAX, 'valueSize', `value_size must be 1..${LPM_VAL_SIZE_MAX}`);
  },
  create: (def, env) => new LpmTrieMap(def, env),
};
