// The map families libbpf creates with special attributes (cpumap, sockmap/sockhash, sk_storage, cgroup storage,
// user ring buffers, arenas, a perf event array of 0 entries, odd ring buffer sizes): created by loadKernelObject
// exactly as bpftool (libbpf) creates them, attributes judged like BPF_MAP_CREATE, user-side operations of the
// userspace families against the kernel's on the same sequences.
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadObject } from '../../src/elf/index.js';
import { BpfMapFlags, BpfMapType, BpfUpdateFlags } from '../../src/isa/uapi.generated.js';
import { createMap as createKernelMap } from '../../src/kernel/bpf/map-create.js';
import { lookupElem, updateElem } from '../../src/kernel/bpf/map-elem.js';
import { possibleCpus } from '../../src/kernel/bpf/map-fd.js';
import { describeMap } from '../../src/kernel/introspect/map-show.js';
import { KernelError } from '../../src/kernel/kernel-error.js';
import { loadKernelObject } from '../../src/kernel/object/load-object.js';
import { MapAttributeError, MapErrno } from '../../src/maps/errors.js';
import { adjustRingbufSize, createMap, libbpfMaxEntries } from '../../src/maps/registry.js';
import { SocketMapUpdateError } from '../../src/maps/sockmap.js';
import { loadUserspace } from '../../src/runtime/index.js';
import { AddressSpace } from '../../src/vm/address-space.js';
import { kernelTest, u32 } from '../kernel/harness.js';
import { compileBpf } from '../support/clang.js';
import { MAPS_MORE_SOURCE, mapsMoreObject } from './maps-more.js';
import { BpftoolLoadError, bpftoolLoadAll } from '../support/libbpf-oracle.js';
import { assertSameMapVerdicts } from '../support/map-attributes.js';
import { prng } from '../support/mutate.js';
import { kernelErrno, MapPair } from './kernel-diff.js';

const SOURCE = MAPS_MORE_SOURCE;

async function withObjectFile<T>(bytes: Uint8Array, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-maps-more-'));
  try {
    const file = path.join(dir, 'maps_more.o');
    writeFileSync(file, bytes);
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

kernelTest('maps_more: every map created as bpftool (libbpf) creates it — type, flags, key/value sizes, max_entries, BTF', async (sys) => {
  const bytes = mapsMoreObject();
  const oracle = await withObjectFile(bytes, (file) => bpftoolLoadAll(file));
  using obj = loadKernelObject(sys, loadObject(bytes, { objectName: 'maps_more' }));
  const problems: string[] = [];
  let compared = 0;
  for (const want of oracle.maps) {
    const m = [...obj.maps.values()].find((x) => describeMap(x.fd).name === want.name);
    if (!m) {
      problems.push(`no map ${want.name}`);
      continue;
    }
    const mine = describeMap(m.fd);
    // libbpf 1.1 (Debian's bpftool) makes every global-data map BPF_F_MMAPABLE; libbpf >= 1.2, and bpfkit, only those with a non-static variable.
    const mmapableOnly = want.name!.includes('.') && ((mine.flags ^ want.flags) & ~0x400) === 0;
    for (const k of ['type', 'flags', 'bytes_key', 'bytes_value', 'max_entries'] as const) if (mine[k] !== want[k] && !(k === 'flags' && mmapableOnly)) problems.push(`map ${want.name}: ${k} ${mine[k]} vs bpftool ${want[k]}`);
    // libbpf 1.1 keeps the object's BTF on maps whose key/value ids it drops; the kernel attaches BTF only with an id.
    if (mine.btf_id !== undefined && want.btf_id === undefined) problems.push(`map ${want.name}: BTF ${mine.btf_id} vs bpftool none`);
    compared++;
  }
  const names = oracle.maps.map((m) => m.name).sort();
  for (const n of ['cg_pcpu_store', 'cg_store', 'cpu_map', 'cpu_map_qsize', 'events', 'rb_odd', 'sk_store', 'sock_hash', 'sock_map', 'user_rb', 'user_rb_odd']) assert.ok(names.includes(n), `bpftool shows ${n} (${names.join(', ')})`);
  assert.equal(obj.map('events').maxEntries, possibleCpus(sys), 'perf event array of 0 entries: one per possible CPU');
  assert.equal(obj.map('user_rb_odd').maxEntries, 8192, 'user ring buffer of 5000 bytes: two pages');
  assert.equal(obj.map('rb_odd').maxEntries, 16384, 'ring buffer of three pages: four');
  assert.deepEqual(problems, []);
  process.stdout.write(`# maps_more: ${compared} maps created as bpftool creates them\n`);
});

kernelTest('arena: the kernel and bpftool refuse or accept it alike; the userspace runtime creates it', async (sys) => {
  const bytes = compileBpfWithArena();
  let kernelWhy: string | undefined;
  try {
    createKernelMap(sys, { type: BpfMapType.ARENA, keySize: 0, valueSize: 0, maxEntries: 4, flags: BpfMapFlags.MMAPABLE }).close();
  } catch (e) {
    if (!(e instanceof KernelError)) throw e;
    kernelWhy = e.errnoName;
  }
  let bpftoolOk = true;
  try {
    await withObjectFile(bytes, (file) => bpftoolLoadAll(file));
  } catch (e) {
    if (!(e instanceof BpftoolLoadError)) throw e;
    bpftoolOk = false;
  }
  let oursOk = true;
  try {
    loadKernelObject(sys, loadObject(bytes, { objectName: 'maps_more' })).close();
  } catch {
    oursOk = false;
  }
  assert.equal(oursOk, bpftoolOk, `bpftool ${bpftoolOk ? 'loads' : 'refuses'} the object with an arena (kernel: ${kernelWhy ?? 'arenas allowed'}), bpfkit ${oursOk ? 'loads' : 'refuses'} it`);
  if (kernelWhy) process.stdout.write(`# arena: this kernel refuses BPF_MAP_TYPE_ARENA (${kernelWhy}); bpfkit's loader refuses the object alike\n`);
  using u = loadUserspace(loadObject(bytes, { objectName: 'maps_more' }), { programs: [] });
  assert.equal(u.bpfMap('arena').maxEntries, 4);
});

function compileBpfWithArena(): Uint8Array {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-arena-'));
  try {
    const src = path.join(dir, 'maps_arena.c');
    writeFileSync(src, `#define WITH_ARENA 1\n#include "${SOURCE}"\n`);
    return compileBpf(src);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

kernelTest('attributes: cpumap, sockmap, sockhash, cgroup storage, user ring buffer definitions judged like BPF_MAP_CREATE', (sys) => {
  const F = BpfMapFlags;
  const sizes = (keySize: number, valueSize: number, maxEntries: number, flags = 0) => ({ keySize, valueSize, maxEntries, flags });
  assertSameMapVerdicts(sys, BpfMapType.CPUMAP, [sizes(4, 4, 4), sizes(4, 8, 4), sizes(4, 12, 4), sizes(8, 4, 4), sizes(4, 4, 0), sizes(4, 4, 64), sizes(4, 4, 100000), sizes(4, 8, 2, F.NUMA_NODE), sizes(4, 8, 2, F.RDONLY), sizes(4, 8, 2, F.NO_PREALLOC), sizes(4, 8, 2, F.RDONLY_PROG)]);
  for (const type of [BpfMapType.SOCKMAP, BpfMapType.SOCKHASH]) {
    assertSameMapVerdicts(sys, type, [sizes(4, 4, 8), sizes(4, 8, 8), sizes(4, 2, 8), sizes(8, 8, 8), sizes(16, 8, 8), sizes(512, 4, 8), sizes(513, 4, 8), sizes(0, 4, 8), sizes(4, 4, 0), sizes(4, 8, 8, F.RDONLY), sizes(4, 8, 8, F.WRONLY), sizes(4, 8, 8, F.RDONLY_PROG), sizes(4, 8, 8, F.NO_PREALLOC)]);
  }
  for (const type of [BpfMapType.CGROUP_STORAGE, BpfMapType.PERCPU_CGROUP_STORAGE]) {
    assertSameMapVerdicts(sys, type, [sizes(16, 8, 0), sizes(8, 8, 0), sizes(12, 8, 0), sizes(16, 0, 0), sizes(16, 8, 1), sizes(16, 32768, 0), sizes(16, 32769, 0), sizes(16, 65407, 0), sizes(16, 65408, 0), sizes(16, 8, 0, F.RDONLY_PROG), sizes(16, 8, 0, F.WRONLY_PROG | F.RDONLY_PROG), sizes(16, 8, 0, F.NO_PREALLOC), sizes(16, 8, 0, F.NUMA_NODE)]);
  }
  assertSameMapVerdicts(sys, BpfMapType.USER_RINGBUF, [sizes(0, 0, 4096), sizes(0, 0, 8192), sizes(0, 0, 5000), sizes(0, 0, 12288), sizes(4, 0, 4096), sizes(0, 4, 4096), sizes(0, 0, 0), sizes(0, 0, 4096, F.NUMA_NODE), sizes(0, 0, 4096, F.MMAPABLE)]);
  // Socket storage without BTF: the kernel always refuses (it enforces key/value BTF); so does bpfkit, naming the field.
  assertSameMapVerdicts(sys, BpfMapType.SK_STORAGE, [sizes(4, 16, 0, F.NO_PREALLOC), sizes(4, 16, 0)]);
  assert.throws(() => createMap({ name: 's', type: BpfMapType.SK_STORAGE, ...sizes(4, 16, 0, F.NO_PREALLOC) }, { space: new AddressSpace(), cpus: 1 }), (e: unknown) => e instanceof MapAttributeError && e.field === 'btfKeyTypeId');
  const withBtf = { btfKeyTypeId: 1, btfValueTypeId: 2 };
  for (const [d, ok] of [
    [sizes(4, 16, 0, F.NO_PREALLOC), true],
    [sizes(4, 16, 0, F.NO_PREALLOC | F.CLONE), true],
    [sizes(4, 16, 0), false],
    [sizes(4, 16, 1, F.NO_PREALLOC), false],
    [sizes(8, 16, 0, F.NO_PREALLOC), false],
    [sizes(4, 65408, 0, F.NO_PREALLOC), false],
  ] as const) {
    let accepted = true;
    try {
      createMap({ name: 's', type: BpfMapType.SK_STORAGE, ...d, ...withBtf }, { space: new AddressSpace(), cpus: 1 });
    } catch (e) {
      assert.ok(e instanceof MapAttributeError);
      accepted = false;
    }
    assert.equal(accepted, ok, JSON.stringify(d));
  }
});

kernelTest('differential: cpumap updates (qsize, program fds, flags, CPUs), deletes, lookups and key order match the kernel', (sys) => {
  let ops = 0;
  for (const valueSize of [4, 8]) {
    const rng = prng(0xc9 + valueSize);
    for (const maxEntries of [1, 4, 9]) {
      using pair = new MapPair(sys, { name: 'cpus', type: BpfMapType.CPUMAP, keySize: 4, valueSize, maxEntries, flags: 0 });
      for (let i = 0; i < 250; i++) {
        const r = rng.int(10);
        const key = u32(rng.int(maxEntries + 2));
        if (r < 5) {
          const v = new Uint8Array(valueSize);
          v.set(u32(rng.pick([0, 1, 64, 192, 16384, 16385])), 0);
          // Program fds: -1 and 0 are ignored; 999 names no program (the kernel fails the entry allocation: ENOMEM).
          if (valueSize === 8) v.set(u32(rng.pick([0, 0, 0, -1 >>> 0, 999])), 4);
          pair.update(key, v, rng.pick([0, 0, BpfUpdateFlags.NOEXIST, BpfUpdateFlags.EXIST, 4]), `#${i}`);
        } else if (r < 7) pair.delete(key, `#${i}`);
        else if (r < 9) pair.lookup(key, `#${i}`);
        else pair.nextKey(rng.chance(0.2) ? undefined : key, `#${i}`);
      }
      pair.compareAll(true);
      ops += pair.ops;
    }
  }
  process.stdout.write(`# cpumap: ${ops} operations agreed with the kernel\n`);
});

kernelTest('differential: empty sockmap / sockhash / cgroup storage / user ring buffer answer user-side operations as the kernel does', (sys) => {
  let ops = 0;
  const rng = prng(0x50c);
  for (const [type, keySize, valueSize, maxEntries] of [
    [BpfMapType.SOCKMAP, 4, 4, 4],
    [BpfMapType.SOCKMAP, 4, 8, 4],
    [BpfMapType.SOCKHASH, 4, 8, 8],
    [BpfMapType.SOCKHASH, 12, 4, 8],
    [BpfMapType.CGROUP_STORAGE, 16, 8, 0],
    [BpfMapType.CGROUP_STORAGE, 8, 8, 0],
  ] as const) {
    using pair = new MapPair(sys, { name: 'm', type, keySize, valueSize, maxEntries, flags: 0 });
    for (let i = 0; i < 60; i++) {
      const key = new Uint8Array(keySize);
      key.set(u32(rng.int(6)), 0);
      const r = rng.int(4);
      if (r === 0) pair.delete(key, `${type} #${i}`);
      else if (r === 1) {
        // A lookup: ENOENT on both (a 4-byte socket map: the kernel says ENOSPC, nothing readable either way).
        const k = kernelErrno(() => lookupElem(pair.kernel, key) ?? (() => { throw new KernelError('lookup', 2); })());
        assert.ok(k < 0);
        assert.equal(pair.ours.read(key), undefined);
        pair.ops++;
      }
      else if (r === 2) pair.nextKey(rng.chance(0.3) ? undefined : key, `${type} #${i}`);
      else if (type === BpfMapType.CGROUP_STORAGE) pair.update(key, new Uint8Array(valueSize), rng.pick([0, 1, 2, 4, 6]), `${type} #${i}`);
      else {
        // A socket fd above INT_MAX: EINVAL on both sides; any other fd: the kernel wants a socket (stdin is none), bpfkit has none.
        const big = new Uint8Array(valueSize).fill(0xff);
        pair.update(key, big, 0, `${type} #${i}`);
        const fd = openSync('/dev/null', 'r');
        try {
          const v = new Uint8Array(valueSize);
          v.set(u32(fd), 0);
          const k = kernelErrno(() => updateElem(pair.kernel, key, v, 0));
          assert.ok(k < 0, 'the kernel refuses a file that is no socket');
        } finally {
          closeSync(fd);
        }
        assert.throws(() => pair.ours.write(key, new Uint8Array(valueSize), 0), SocketMapUpdateError);
      }
    }
    if (type !== BpfMapType.SOCKMAP || valueSize === 8) pair.compareAll(true);
    ops += pair.ops;
  }
  process.stdout.write(`# empty socket maps and cgroup storage: ${ops} operations agreed with the kernel\n`);
});

test('libbpf sizing: perf event arrays of 0 entries get one per CPU, ring buffers a power-of-two number of pages', () => {
  assert.equal(libbpfMaxEntries(BpfMapType.PERF_EVENT_ARRAY, 0, 6), 6);
  assert.equal(libbpfMaxEntries(BpfMapType.PERF_EVENT_ARRAY, 3, 6), 3);
  assert.equal(libbpfMaxEntries(BpfMapType.ARRAY, 0, 6), 0);
  for (const [n, want] of [[0, 0], [1, 4096], [4096, 4096], [4097, 8192], [5000, 8192], [12288, 16384], [16384, 16384], [65536, 65536], [0x80000001, 0x80000001]] as const) assert.equal(adjustRingbufSize(n), want, `${n}`);
  using obj = loadUserspace(loadObject(mapsMoreObject(), { objectName: 'maps_more' }), { cpus: 3, programs: ['xdp_perf'] });
  assert.equal(obj.bpfMap('events').maxEntries, 3, 'the runtime CPU count');
  assert.equal(obj.bpfMap('user_rb_odd').maxEntries, 8192);
  assert.equal(obj.bpfMap('rb_odd').maxEntries, 16384);
  assert.equal(createMap({ name: 'p', type: BpfMapType.PERF_EVENT_ARRAY, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 }, { space: new AddressSpace(), cpus: 1 }).def.maxEntries, 2);
});

test('arena: map_extra written with __ulong (an enum64, as libbpf >= 1.4) is parsed; arena_map_alloc\'s rules', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpfkit-arena-ulong-'));
  let bytes: Uint8Array;
  try {
    const src = path.join(dir, 'arena_ulong.c');
    writeFileSync(
      src,
      `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#define cat2_(a, b) a##b
#define cat_(a, b) cat2_(a, b)
#define __ulong(name, val) enum { cat_(__unique_value, __COUNTER__) = val } name
struct { __uint(type, 33); __uint(map_flags, BPF_F_MMAPABLE); __uint(max_entries, 4); __ulong(map_extra, 0x100000000ULL << 8); } arena SEC(".maps");
struct { __uint(type, 33); __uint(map_flags, BPF_F_MMAPABLE); __uint(max_entries, 2); __ulong(map_extra, 0x2000); } low SEC(".maps");
char LICENSE[] SEC("license") = "GPL";
`,
    );
    bytes = compileBpf(src);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const spec = loadObject(bytes, { objectName: 'arena_ulong' });
  assert.equal(spec.maps.find((m) => m.name === 'arena')?.mapExtra, 2 ** 40);
  assert.equal(spec.maps.find((m) => m.name === 'low')?.mapExtra, 0x2000);
  using u = loadUserspace(spec);
  assert.equal(u.bpfMap('arena').maxEntries, 4);
  const def = (maxEntries: number, flags: number, mapExtra = 0) => ({ name: 'a', type: BpfMapType.ARENA, keySize: 0, valueSize: 0, maxEntries, flags, mapExtra });
  const env = () => ({ space: new AddressSpace(), cpus: 1 });
  const refused = (d: ReturnType<typeof def>): number | undefined => {
    try {
      createMap(d, env());
      return undefined;
    } catch (e) {
      assert.ok(e instanceof MapAttributeError);
      return e.errno;
    }
  };
  assert.equal(refused(def(4, BpfMapFlags.MMAPABLE)), undefined);
  assert.equal(refused(def(4, 0)), MapErrno.EINVAL, 'BPF_F_MMAPABLE required');
  assert.equal(refused(def(0, BpfMapFlags.MMAPABLE)), MapErrno.EINVAL);
  assert.equal(refused(def(4, BpfMapFlags.MMAPABLE | BpfMapFlags.NO_PREALLOC)), MapErrno.EINVAL);
  assert.equal(refused(def(4, BpfMapFlags.MMAPABLE | BpfMapFlags.SEGV_ON_FAULT | BpfMapFlags.NO_USER_CONV)), undefined);
  assert.equal(refused(def(4, BpfMapFlags.MMAPABLE, 100)), MapErrno.EINVAL, 'map_extra not page aligned');
  assert.equal(refused(def(2 ** 20 + 1, BpfMapFlags.MMAPABLE)), MapErrno.E2BIG, 'more than 4 GiB');
  assert.equal(refused(def(4, BpfMapFlags.MMAPABLE, 2 ** 32 - 4096)), 34, 'the user region would cross a 4 GiB boundary: ERANGE');
  const a = createMap(def(4, BpfMapFlags.MMAPABLE), env());
  assert.equal(a.read(new Uint8Array(0)), undefined);
  assert.equal(a.write(new Uint8Array(0), new Uint8Array(0), 0), -MapErrno.EOPNOTSUPP);
  assert.equal(a.delete(new Uint8Array(0), 0), -MapErrno.EOPNOTSUPP);
});
