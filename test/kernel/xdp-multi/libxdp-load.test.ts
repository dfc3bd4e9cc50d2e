// libxdp's load path through a fake Sys (this kernel refuses freplace): bpf commands and attrs, pins and flock order, atomic replace, unload of another tool's programs, no leftovers on failure.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadObject } from '../../../src/elf/object-loader.js';
import { BpfCmd, ProgType } from '../../../src/kernel/bpf/constants.js';
import { bpfCmdName } from '../../../src/kernel/bpf/constants.js';
import { XDP_FLAGS } from '../../../src/kernel/netlink/rtnetlink.js';
import { BpfkitError } from '../../../src/errors.js';
import type { PointerField } from '../../../src/kernel/sys.js';
import { decodeLibxdpConfig, encodeLibxdpConfig, LIBXDP_SLOTS } from '../../../src/kernel/xdp-multi/libxdp.js';
import { defaultLibxdpPorts, LIBXDP_DISPATCHER_OBJECTS, LibxdpMultiProg, type LibxdpComponentToLoad, type LibxdpPorts } from '../../../src/kernel/xdp-multi/libxdp-load.js';
import { PlainXdpProgramError, XdpDispatcherVersionError, XdpModeMismatchError, XdpProgramNotFoundError } from '../../../src/kernel/xdp-multi/errors.js';
import type { BpffsPort } from '../../../src/kernel/xdp-multi/bpffs.js';
import { xdpRunConfig } from '../../../src/runtime/xdp-run-config.js';
import { repoRoot } from '../../support/fixtures.js';
import { FakeSys, fail, type FakeBpfCall } from '../fake-sys.js';

const BPFFS = '/fakefs';
const IFINDEX = 7;
const DISPATCHER_OBJ = LIBXDP_DISPATCHER_OBJECTS[0]!;
const haveDispatcher = (() => {
  try {
    readFileSync(DISPATCHER_OBJ);
    return true;
  } catch {
    return false;
  }
})();
const skip = haveDispatcher ? false : `${DISPATCHER_OBJ} not installed (apt-get install xdp-tools)`;

interface KObj {
  kind: 'prog' | 'map' | 'link' | 'btf';
  name: string;
  type?: number;
  attachBtfId?: number;
  attachProgId?: number;
  maps?: number[];
  value?: Uint8Array;
  prog?: number;
  target?: number;
  targetBtfId?: number;
}

const cstr = (b: Uint8Array | undefined): string => {
  if (!b) return '';
  const end = b.indexOf(0);
  return new TextDecoder().decode(b.subarray(0, end < 0 ? b.length : end));
};

/** A small model of the kernel's bpf objects, fds and bpffs, enough for libxdp's protocol. */
class FakeKernel extends FakeSys {
  readonly objs = new Map<number, KObj>();
  readonly fds = new Map<number, number>();
  readonly pins = new Map<string, number>();
  readonly dirs = new Set<string>([BPFFS]);
  readonly events: string[] = [];
  attached: { progId: number; mode: 'skb' | 'native' } | undefined;
  /** Makes the call fail with EPERM when it returns true. */
  failOn: ((call: FakeBpfCall) => boolean) | undefined;
  #fd = 200;
  #id = 1;

  add(o: KObj): number {
    const id = this.#id++;
    this.objs.set(id, o);
    return id;
  }
  open(id: number): number {
    const fd = this.#fd++;
    this.fds.set(fd, id);
    return fd;
  }
  idOf(fd: number): number {
    const id = this.fds.get(fd);
    if (id === undefined) throw new Error(`fake kernel: fd ${fd} is not open`);
    return id;
  }

  override bpf(cmd: number, attr: Uint8Array, pointers: readonly PointerField[] = []): number {
    const call: FakeBpfCall = { cmd, attr, attrIn: attr.slice(), pointers };
    this.calls.push(call);
    if (this.failOn?.(call)) fail(cmd, 1);
    const dv = new DataView(attr.buffer, attr.byteOffset, attr.byteLength);
    const u32 = (o: number): number => (o + 4 <= attr.length ? dv.getUint32(o, true) : 0);
    const ptr = (o: number): Uint8Array | undefined => pointers.find((p) => p.offset === o)?.target;
    switch (cmd) {
      case BpfCmd.PROG_LOAD: {
        const insns = ptr(8) ?? new Uint8Array();
        const idv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
        const maps: number[] = [];
        for (let i = 0; i + 8 <= insns.length; i += 8) if (insns[i] === 0x18 && [1, 2].includes(insns[i + 1]! >> 4)) maps.push(this.idOf(idv.getInt32(i + 4, true)));
        const attachFd = u32(112);
        const o: KObj = { kind: 'prog', type: u32(0), name: cstr(attr.subarray(48, 64)), attachBtfId: u32(108), maps };
        if (attachFd) o.attachProgId = this.idOf(attachFd);
        this.events.push(`PROG_LOAD ${o.name} type=${o.type}${attachFd ? ` attach_prog=${o.attachProgId} attach_btf_id=${o.attachBtfId}` : ''}`);
        return this.open(this.add(o));
      }
      case BpfCmd.MAP_CREATE:
        return this.open(this.add({ kind: 'map', name: cstr(attr.subarray(28, 44)) }));
      case BpfCmd.BTF_LOAD:
        return this.open(this.add({ kind: 'btf', name: '' }));
      case BpfCmd.MAP_UPDATE_ELEM:
        this.objs.get(this.idOf(u32(0)))!.value = ptr(16)!.slice();
        return 0;
      case BpfCmd.MAP_FREEZE:
      case BpfCmd.PROG_BIND_MAP:
        return 0;
      case BpfCmd.LINK_CREATE: {
        const o: KObj = { kind: 'link', name: '', prog: this.idOf(u32(0)), target: this.idOf(u32(4)), targetBtfId: u32(16) };
        this.events.push(`LINK_CREATE prog=${o.prog} target=${o.target} target_btf_id=${o.targetBtfId} attach_type=${u32(8)}`);
        return this.open(this.add(o));
      }
      case BpfCmd.OBJ_PIN: {
        const path = cstr(ptr(0));
        if (this.pins.has(path)) fail(cmd, 17);
        if (!this.dirs.has(path.slice(0, path.lastIndexOf('/')))) fail(cmd, 2);
        this.pins.set(path, this.idOf(u32(8)));
        this.events.push(`pin ${path.slice(BPFFS.length)}`);
        return 0;
      }
      case BpfCmd.OBJ_GET: {
        const id = this.pins.get(cstr(ptr(0)));
        if (id === undefined) fail(cmd, 2);
        return this.open(id);
      }
      case BpfCmd.PROG_GET_FD_BY_ID:
        if (this.objs.get(u32(0))?.kind !== 'prog') fail(cmd, 2);
        return this.open(u32(0));
      case BpfCmd.OBJ_GET_INFO_BY_FD: {
        const id = this.idOf(u32(0));
        const o = this.objs.get(id)!;
        const info = ptr(8)!;
        const idv = new DataView(info.buffer, info.byteOffset, info.byteLength);
        idv.setUint32(0, o.type ?? 0, true);
        idv.setUint32(4, id, true);
        if (o.kind === 'prog') info.set(new TextEncoder().encode(o.name).subarray(0, 15), 64);
        return 0;
      }
      default:
        throw new Error(`fake kernel: unscripted bpf(${bpfCmdName(cmd)})`);
    }
  }

  override close(fd: number): void {
    super.close(fd);
    this.idOf(fd);
    this.fds.delete(fd);
  }

  /** The `.rodata` config of dispatcher `progId`, as inspectLibxdp reads it from the kernel. */
  config(progId: number) {
    for (const m of this.objs.get(progId)?.maps ?? []) {
      const v = this.objs.get(m)?.value;
      if (v) return decodeLibxdpConfig(v);
    }
    return undefined;
  }

  /** Pins below BPFFS, relative. */
  pinList(): string[] {
    return [...this.pins.keys()].map((p) => p.slice(BPFFS.length)).sort();
  }
}

/** The real ports (dispatcher object, loadKernelObject, programInfo) over the fake kernel; bpffs and netlink modelled. */
function ports(k: FakeKernel): LibxdpPorts {
  const fs: BpffsPort = {
    checkBpffs: () => undefined,
    exists: (p) => k.dirs.has(p) || k.pins.has(p),
    mkdirs(dir) {
      for (let at = dir; !k.dirs.has(at); at = at.slice(0, at.lastIndexOf('/'))) k.dirs.add(at);
    },
    list: (dir) => [...k.dirs, ...k.pins.keys()].filter((p) => p.startsWith(`${dir}/`) && !p.slice(dir.length + 1).includes('/')).map((p) => p.slice(dir.length + 1)).sort(),
    remove(path) {
      if (k.pins.delete(path)) return void k.events.push(`unlink ${path.slice(BPFFS.length)}`);
      if (!k.dirs.has(path)) return;
      if (fs.list(path).length) throw new Error(`rmdir ${path}: not empty`);
      k.dirs.delete(path);
      k.events.push(`rmdir ${path.slice(BPFFS.length)}`);
    },
    rename: () => assert.fail('rename is not part of the protocol'),
    lock(dir) {
      k.events.push(`lock ${dir.slice(BPFFS.length)}`);
      return { [Symbol.dispose]: () => void k.events.push(`unlock ${dir.slice(BPFFS.length)}`) };
    },
  };
  return {
    ...defaultLibxdpPorts(k, DISPATCHER_OBJ),
    fs,
    attached: () => ({ ifindex: IFINDEX, ifname: 'veth0', progId: k.attached?.progId, mode: k.attached?.mode }),
    setXdp(ifindex, fd, flags, expectedFd) {
      assert.equal(ifindex, IFINDEX);
      const expected = expectedFd === undefined ? undefined : k.idOf(expectedFd);
      k.events.push(`IFLA_XDP fd=${fd < 0 ? -1 : k.idOf(fd)} flags=${flags}${expected ? ` expected=${expected}` : ''}`);
      // The kernel's dev_xdp_attach: REPLACE needs the expected program there; UPDATE_IF_NOEXIST needs none.
      if (flags & XDP_FLAGS.REPLACE && k.attached?.progId !== expected) throw new BpfkitError('ERR_KERNEL', 'EEXIST: expected program not attached');
      if (flags & XDP_FLAGS.UPDATE_IF_NOEXIST && k.attached) throw new BpfkitError('ERR_KERNEL', 'EBUSY');
      k.attached = fd < 0 ? undefined : { progId: k.idOf(fd), mode: flags & XDP_FLAGS.DRV_MODE ? 'native' : 'skb' };
    },
    readConfig: (id) => k.config(id),
  };
}

const C = `${repoRoot}/test/kernel/xdp-multi/c`;
function component(n: string): LibxdpComponentToLoad {
  const spec = loadObject(new Uint8Array(readFileSync(`${C}/xdp_mp_${n}.o`)), { objectName: `xdp_mp_${n}` });
  const p = spec.programs[0]!;
  const rc = xdpRunConfig(spec, p.name);
  return { spec, program: p.name, priority: rc.priority, chainCallActions: rc.chainCallActions, flags: p.flags };
}

const slotBtfIds = (() => {
  if (!haveDispatcher) return [];
  const d = loadObject(new Uint8Array(readFileSync(DISPATCHER_OBJ)), { objectName: 'xdp-dispatcher' });
  return [...Array(LIBXDP_SLOTS).keys()].map((i) => d.btf!.typesByName(`prog${i}`).find((t) => t.kind === 'func')!.id);
})();

const dispatcherDir = (k: FakeKernel) => `/xdp/dispatch-${IFINDEX}-${k.attached!.progId}`;

test('libxdp load: dispatcher with its config in .rodata, components as EXT naming prog<N>, freplace links, pins, then IFLA_XDP — all under the flock on bpffs/xdp', { skip }, () => {
  const k = new FakeKernel();
  const multi = new LibxdpMultiProg(k, 'veth0', BPFFS, ports(k));
  const got = multi.load([component('filter'), component('count')], 'skb');
  assert.deepEqual(got.map((c) => [c.slot, c.name, c.priority]), [[0, 'mp_count', 10], [1, 'mp_filter', 20]]);
  const disp = k.attached!.progId;
  const dobj = k.objs.get(disp)!;
  assert.deepEqual([dobj.name, dobj.type], ['xdp_dispatcher', ProgType.XDP]);
  const conf = k.config(disp)!;
  assert.deepEqual([conf.version, conf.numProgsEnabled, conf.runPrios.slice(0, 2)], [2, 2, [10, 20]]);
  assert.ok(conf.chainCallActions.slice(0, 2).every((a) => (a & 0x80000000) !== 0), 'the stub retval bit is set in each slot');
  // Components are freplace programs targeting the dispatcher's stubs prog0, prog1 in run order.
  const ext = [...k.objs.entries()].filter(([, o]) => o.type === ProgType.EXT);
  assert.deepEqual(ext.map(([, o]) => [o.name, o.attachProgId, o.attachBtfId]), [['mp_count', disp, slotBtfIds[0]], ['mp_filter', disp, slotBtfIds[1]]]);
  const order = k.events.map((e) => e.replace(/=\d+/g, (m) => (m === `=${disp}` ? '=DISP' : m)));
  assert.equal(order[0], 'lock /xdp');
  assert.equal(order.at(-1), 'unlock /xdp');
  const tail = order.filter((e) => /^(LINK_CREATE|pin|IFLA_XDP)/.test(e));
  assert.deepEqual(tail, [
    `LINK_CREATE prog=${ext[0]![0]} target=DISP target_btf_id=${slotBtfIds[0]} attach_type=0`,
    `pin /xdp/dispatch-${IFINDEX}-${disp}/prog0-link`,
    `pin /xdp/dispatch-${IFINDEX}-${disp}/prog0-prog`,
    `LINK_CREATE prog=${ext[1]![0]} target=DISP target_btf_id=${slotBtfIds[1]} attach_type=0`,
    `pin /xdp/dispatch-${IFINDEX}-${disp}/prog1-link`,
    `pin /xdp/dispatch-${IFINDEX}-${disp}/prog1-prog`,
    `IFLA_XDP fd=DISP flags=${XDP_FLAGS.SKB_MODE | XDP_FLAGS.UPDATE_IF_NOEXIST}`,
  ]);
  assert.deepEqual(k.pinList(), ['prog0-link', 'prog0-prog', 'prog1-link', 'prog1-prog'].map((p) => `${dispatcherDir(k)}/${p}`));
  const links = [...k.objs.values()].filter((o) => o.kind === 'link');
  assert.deepEqual(links.map((l) => [l.prog, l.target]), ext.map(([id]) => [id, disp]));
  assert.deepEqual([...k.fds.keys()], [], 'every fd closed: pins and the attachment hold the objects');
});

test('libxdp add: a new dispatcher, kept programs linked again from their pins, XDP_FLAGS_REPLACE naming the old dispatcher, old directory removed', { skip }, () => {
  const k = new FakeKernel();
  new LibxdpMultiProg(k, 'veth0', BPFFS, ports(k)).load([component('filter'), component('count')]);
  const old = k.attached!.progId;
  const oldDir = dispatcherDir(k);
  const kept = [...k.pins.entries()].filter(([p]) => p.endsWith('-prog')).map(([, id]) => id);
  k.events.length = 0;
  // A second process (nothing remembered): everything comes from bpffs and the dispatcher's config.
  const second = new LibxdpMultiProg(k, 7, BPFFS, ports(k));
  assert.deepEqual(second.load([component('tx')]).map((c) => [c.slot, c.name]), [[0, 'mp_soft_drop']]);
  const all = second.state()!.components;
  const disp = k.attached!.progId;
  assert.notEqual(disp, old);
  assert.deepEqual(all.map((c) => [c.slot, c.name, c.priority]), [[0, 'mp_soft_drop', 5], [1, 'mp_count', 10], [2, 'mp_filter', 20]]);
  const links = k.events.filter((e) => e.startsWith('LINK_CREATE'));
  assert.equal(links.length, 3);
  assert.ok(links[1]!.includes(`prog=${kept[0]} target=${disp} target_btf_id=${slotBtfIds[1]}`), links[1]);
  assert.ok(links[2]!.includes(`prog=${kept[1]} target=${disp} target_btf_id=${slotBtfIds[2]}`), links[2]);
  assert.equal(k.events.filter((e) => e.startsWith('PROG_LOAD') && e.includes('type=28')).length, 1, 'only the new program is loaded');
  const xdp = k.events.findIndex((e) => e.startsWith('IFLA_XDP'));
  assert.equal(k.events[xdp], `IFLA_XDP fd=${disp} flags=${XDP_FLAGS.SKB_MODE | XDP_FLAGS.REPLACE} expected=${old}`);
  const firstUnlink = k.events.findIndex((e) => e.startsWith('unlink'));
  assert.ok(firstUnlink > xdp, 'the old directory goes only after the swap');
  assert.ok(k.events.includes(`rmdir ${oldDir}`));
  assert.deepEqual(k.pinList(), [0, 1, 2].flatMap((i) => [`prog${i}-link`, `prog${i}-prog`]).map((p) => `${dispatcherDir(k)}/${p}`));
  const conf = k.config(disp)!;
  assert.deepEqual(conf.runPrios.slice(0, 3), [5, 10, 20]);
  assert.equal(conf.chainCallActions[0]! & 0x7fffffff, component('tx').chainCallActions);
  assert.deepEqual([...k.fds.keys()], []);
});

test('libxdp unload: a program loaded by another tool (state read from xdp-loader\'s layout) by id; the last one and --all remove the directory', { skip }, () => {
  const k = new FakeKernel();
  // What xdp-loader leaves: a dispatcher with its config, EXT programs pinned with their links.
  const rodata = k.add({ kind: 'map', name: 'xdp_disp.rodata', value: encodeLibxdpConfig({ numProgsEnabled: 2, isXdpFrags: false, chainCallActions: [0x80000004, 0x80000006], runPrios: [10, 30], programFlags: [0, 0] }) });
  const disp = k.add({ kind: 'prog', type: ProgType.XDP, name: 'xdp_dispatcher', maps: [rodata] });
  const a = k.add({ kind: 'prog', type: ProgType.EXT, name: 'xdp_a', attachProgId: disp });
  const b = k.add({ kind: 'prog', type: ProgType.EXT, name: 'xdp_b', attachProgId: disp });
  const dir = `${BPFFS}/xdp/dispatch-${IFINDEX}-${disp}`;
  k.dirs.add(`${BPFFS}/xdp`).add(dir);
  for (const [i, p] of [a, b].entries()) {
    k.pins.set(`${dir}/prog${i}-prog`, p);
    k.pins.set(`${dir}/prog${i}-link`, k.add({ kind: 'link', name: '', prog: p, target: disp }));
  }
  k.attached = { progId: disp, mode: 'native' };
  const multi = new LibxdpMultiProg(k, 'veth0', BPFFS, ports(k));
  assert.deepEqual(multi.state()!.components.map((c) => [c.slot, c.id, c.name, c.priority, c.chainCallActions]), [[0, a, 'xdp_a', 10, 4], [1, b, 'xdp_b', 30, 6]]);
  assert.throws(() => multi.unload(999), (e: unknown) => e instanceof XdpProgramNotFoundError && /loaded: 3, 4/.test(e.message));
  assert.throws(() => multi.load([component('count')], 'skb'), XdpModeMismatchError);
  assert.deepEqual(multi.unload(a).map((c) => c.name), ['xdp_a']);
  const d2 = k.attached.progId;
  assert.equal(k.attached.mode, 'native');
  assert.ok(k.events.includes(`IFLA_XDP fd=${d2} flags=${XDP_FLAGS.DRV_MODE | XDP_FLAGS.REPLACE} expected=${disp}`));
  const c2 = k.config(d2)!;
  assert.deepEqual([c2.numProgsEnabled, c2.runPrios[0], c2.chainCallActions[0]], [1, 30, 0x80000006], 'xdp_b keeps its priority and actions');
  assert.deepEqual(k.pinList(), [`/xdp/dispatch-${IFINDEX}-${d2}/prog0-link`, `/xdp/dispatch-${IFINDEX}-${d2}/prog0-prog`]);
  assert.equal(k.pins.get(`${BPFFS}/xdp/dispatch-${IFINDEX}-${d2}/prog0-prog`), b, 'the same program, not a reload');
  // --all: detached with the expected dispatcher named, the directory gone.
  assert.deepEqual(multi.unloadAll().map((c) => c.id), [b]);
  assert.ok(k.events.includes(`IFLA_XDP fd=-1 flags=${XDP_FLAGS.DRV_MODE | XDP_FLAGS.REPLACE} expected=${d2}`));
  assert.equal(k.attached, undefined);
  assert.deepEqual([k.pinList(), [...k.dirs].sort()], [[], [BPFFS, `${BPFFS}/xdp`]]);
  assert.deepEqual(multi.unloadAll(), []);
  // Unloading the last program by id takes the dispatcher with it.
  multi.load([component('count')]);
  const only = multi.state()!.components[0]!.id;
  multi.unload(only);
  assert.deepEqual([k.attached, k.pinList()], [undefined, []]);
  assert.deepEqual([...k.fds.keys()], []);
});

test('libxdp failures: a failure at any step before the swap closes every fd, removes every pin and the new directory, and leaves the old dispatcher attached', { skip }, () => {
  const steps: [string, (c: FakeBpfCall) => boolean][] = [
    ['dispatcher load', (c) => c.cmd === BpfCmd.PROG_LOAD && cstr(c.attr.subarray(48, 64)) === 'xdp_dispatcher'],
    ['second EXT load', (c) => c.cmd === BpfCmd.PROG_LOAD && cstr(c.attr.subarray(48, 64)) === 'mp_filter'],
    ['second link', (() => {
      let n = 0;
      return (c: FakeBpfCall) => c.cmd === BpfCmd.LINK_CREATE && ++n === 2;
    })()],
    ['last pin', (c) => c.cmd === BpfCmd.OBJ_PIN && cstr(c.pointers.find((p) => p.offset === 0)?.target).endsWith('prog2-prog')],
  ];
  for (const [what, failOn] of steps) {
    const k = new FakeKernel();
    const multi = new LibxdpMultiProg(k, 'veth0', BPFFS, ports(k));
    multi.load([component('tx')]);
    const before = { attached: k.attached, pins: k.pinList(), dirs: [...k.dirs].sort() };
    k.failOn = failOn;
    assert.throws(() => multi.load([component('count'), component('filter')]), (e: unknown) => e instanceof BpfkitError && /libxdp dispatcher on veth0/.test(e.message), what);
    k.failOn = undefined;
    assert.deepEqual({ attached: k.attached, pins: k.pinList(), dirs: [...k.dirs].sort() }, before, what);
    assert.deepEqual([...k.fds.keys()], [], `${what}: no fd left open`);
    assert.equal(k.events.at(-1), 'unlock /xdp', what);
  }
  // The swap itself refused (someone replaced the dispatcher meanwhile): the same.
  const k = new FakeKernel();
  const p = ports(k);
  const multi = new LibxdpMultiProg(k, 'veth0', BPFFS, { ...p, setXdp: () => assert.fail('not reached') });
  assert.throws(() => multi.load([component('tx')]), /not reached/);
  assert.deepEqual([k.attached, k.pinList(), [...k.fds.keys()]], [undefined, [], []]);
  assert.deepEqual([...k.dirs].sort(), [BPFFS, `${BPFFS}/xdp`]);
});

test('libxdp refusals: a plain program, a dispatcher of another protocol version — before anything is loaded', { skip }, () => {
  const k = new FakeKernel();
  k.attached = { progId: k.add({ kind: 'prog', type: ProgType.XDP, name: 'xdp_fw' }), mode: 'skb' };
  const multi = new LibxdpMultiProg(k, 'veth0', BPFFS, ports(k));
  assert.throws(() => multi.load([component('count')]), PlainXdpProgramError);
  const conf = encodeLibxdpConfig({ numProgsEnabled: 0, isXdpFrags: false, chainCallActions: [], runPrios: [], programFlags: [] });
  conf[1] = 3;
  k.attached = { progId: k.add({ kind: 'prog', type: ProgType.XDP, name: 'xdp_dispatcher', maps: [k.add({ kind: 'map', name: 'r', value: conf })] }), mode: 'skb' };
  assert.throws(() => multi.load([component('count')]), (e: unknown) => e instanceof XdpDispatcherVersionError && e.version === 3);
  assert.equal(k.calls.filter((c) => c.cmd === BpfCmd.PROG_LOAD).length, 0);
  assert.deepEqual([...k.fds.keys()], []);
});

test('libxdp retry: the hook changed while the new dispatcher was built (refused swap) — the new one is dismantled and the operation starts over from the hook', { skip }, () => {
  const k = new FakeKernel();
  const p = ports(k);
  new LibxdpMultiProg(k, 'veth0', BPFFS, p).load([component('tx')]);
  const oldDir = `${BPFFS}${dispatcherDir(k)}`;
  const old = k.attached!.progId;
  let raced = false;
  const racing: LibxdpPorts = {
    ...p,
    setXdp(ifindex, fd, flags, expectedFd) {
      if (!raced) {
        // Another tool unloads everything meanwhile.
        raced = true;
        for (const path of [...k.pins.keys()]) if (path.startsWith(`${oldDir}/`)) k.pins.delete(path);
        k.dirs.delete(oldDir);
        k.attached = undefined;
      }
      p.setXdp(ifindex, fd, flags, expectedFd);
    },
  };
  k.events.length = 0;
  const added = new LibxdpMultiProg(k, 'veth0', BPFFS, racing).load([component('count')]);
  assert.deepEqual(added.map((c) => [c.slot, c.name]), [[0, 'mp_count']]);
  const xdp = k.events.filter((e) => e.startsWith('IFLA_XDP'));
  assert.equal(xdp.length, 2);
  assert.match(xdp[0]!, new RegExp(`flags=${XDP_FLAGS.SKB_MODE | XDP_FLAGS.REPLACE} expected=${old}$`));
  assert.match(xdp[1]!, new RegExp(`flags=${XDP_FLAGS.SKB_MODE | XDP_FLAGS.UPDATE_IF_NOEXIST}$`));
  assert.equal(k.events.filter((e) => e.startsWith('lock')).length, 1, 'one lock held across the retry');
  assert.deepEqual(k.pinList(), [`${dispatcherDir(k)}/prog0-link`, `${dispatcherDir(k)}/prog0-prog`]);
  assert.deepEqual([...k.dirs].sort(), [BPFFS, `${BPFFS}/xdp`, `${BPFFS}${dispatcherDir(k)}`]);
  assert.deepEqual([...k.fds.keys()], []);
});
