// XDP attach against the kernel: link and netlink paths, modes, replace, busy hooks, offload, unknown interfaces.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { ProgType } from '../../../src/kernel/bpf/constants.js';
import { detachLink } from '../../../src/kernel/bpf/link.js';
import { linkInfo, programInfo } from '../../../src/kernel/bpf/obj-info.js';
import { getPinnedObject } from '../../../src/kernel/bpf/obj-pin.js';
import { loadProgram, type ProgFd } from '../../../src/kernel/bpf/prog-load.js';
import { AlreadyAttachedError, AttachNotSupportedError, InterfaceNotFoundError, WrongProgramTypeError } from '../../../src/kernel/attach/errors.js';
import { attachTc } from '../../../src/kernel/attach/tc.js';
import { attachXdp, detachXdp, queryXdp } from '../../../src/kernel/attach/xdp.js';
import type { Sys } from '../../../src/kernel/sys.js';
import { createVethPair } from '../../support/netns.js';
import { kernelTest } from '../harness.js';
import { bpftoolNet, ipLinkXdp } from './oracle.js';

/** `r0 = imm; exit`. */
const retImm = (imm: number): Uint8Array => new Uint8Array([0xb7, 0, 0, 0, imm, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const loadXdp = (sys: Sys, name: string): ProgFd => loadProgram(sys, { type: ProgType.XDP, insns: retImm(2), license: 'GPL', name });

const IP_MODE = { native: 1, skb: 2, hw: 3 } as const;

kernelTest('skb mode through a bpf_link: ip link, bpftool net and queryXdp agree; closing the link detaches', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using prog = loadXdp(sys, 'bk_xdp_skb');
  const id = programInfo(prog).id;
  {
    using att = attachXdp(sys, prog, pair.a.name, { mode: 'skb' });
    assert.equal(att.via, 'link');
    assert.equal(att.mode, 'skb');
    assert.equal(att.progId, id);
    assert.ok((att.linkId ?? 0) > 0);
    assert.deepEqual(ipLinkXdp(undefined, pair.a.name), [{ mode: IP_MODE.skb, progId: id }]);
    assert.deepEqual(bpftoolNet(undefined, pair.a.name).xdp, [{ devname: pair.a.name, ifindex: pair.a.ifindex, mode: 'generic', id }]);
    assert.deepEqual(queryXdp(sys, pair.a.ifindex), [{ ifindex: pair.a.ifindex, ifname: pair.a.name, mode: 'skb', progId: id, linkId: att.linkId }]);
  }
  assert.deepEqual(ipLinkXdp(undefined, pair.a.name), []);
  assert.deepEqual(queryXdp(sys, pair.a.name), []);
});

kernelTest('native mode through netlink (veth has native XDP); dispose detaches', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using prog = loadXdp(sys, 'bk_xdp_drv');
  const id = programInfo(prog).id;
  {
    using att = attachXdp(sys, prog, pair.a.ifindex, { mode: 'native', link: false });
    assert.equal(att.via, 'netlink');
    assert.equal(att.mode, 'native');
    assert.equal(att.linkId, undefined);
    assert.deepEqual(ipLinkXdp(undefined, pair.a.name), [{ mode: IP_MODE.native, progId: id }]);
    assert.deepEqual(bpftoolNet(undefined, pair.a.name).xdp.map((x) => [x.mode, x.id]), [['driver', id]]);
    assert.throws(() => att.pin('/sys/fs/bpf/never'), /netlink, not a bpf_link/);
  }
  assert.deepEqual(ipLinkXdp(undefined, pair.a.name), []);
});

kernelTest('a busy hook: AlreadyAttachedError with the errno, the extack text and who is there', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using first = loadXdp(sys, 'bk_xdp_1');
  using second = loadXdp(sys, 'bk_xdp_2');
  const firstId = programInfo(first).id;
  {
    using _att = attachXdp(sys, first, pair.a.name, { mode: 'skb', link: false });
    let err: unknown;
    try {
      attachXdp(sys, second, pair.a.name, { mode: 'skb', link: false });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof AlreadyAttachedError, String(err));
    assert.equal(err.errnoName, 'EBUSY');
    assert.equal(err.extackMessage, 'XDP program already attached');
    assert.deepEqual(err.occupant, { progId: firstId, mode: 'skb', via: 'netlink' });
    assert.match(err.message, new RegExp(`attach XDP to ${pair.a.name} \\(skb mode\\): EBUSY: .*XDP program already attached \\(prog ${firstId}, skb mode, netlink\\)`));
    // A link cannot take over a netlink attachment either.
    assert.throws(() => attachXdp(sys, second, pair.a.name, { mode: 'skb', link: true }), (e: unknown) => e instanceof AlreadyAttachedError && e.occupant?.progId === firstId);
    // Native while skb is active: the kernel refuses with EEXIST and says why.
    assert.throws(
      () => attachXdp(sys, second, pair.a.name, { mode: 'native', link: false }),
      (e: unknown) => e instanceof AlreadyAttachedError && e.errnoName === 'EEXIST' && /Native and generic XDP can't be active at the same time/.test(e.message),
    );
  }
  {
    using att = attachXdp(sys, first, pair.a.name, { mode: 'skb' });
    assert.throws(
      () => attachXdp(sys, second, pair.a.name, { mode: 'skb' }),
      (e: unknown) => e instanceof AlreadyAttachedError && e.occupant?.via === 'link' && e.occupant.linkId === att.linkId,
    );
  }
});

kernelTest('replace: a link is updated in place (same link id); netlink replace honours the expected program', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using first = loadXdp(sys, 'bk_xdp_1');
  using second = loadXdp(sys, 'bk_xdp_2');
  const [firstId, secondId] = [programInfo(first).id, programInfo(second).id];
  {
    using att = attachXdp(sys, first, pair.a.name, { mode: 'skb' });
    using again = attachXdp(sys, second, pair.a.name, { mode: 'skb', replace: true });
    assert.equal(again.via, 'link');
    assert.equal(again.linkId, att.linkId);
    assert.deepEqual(ipLinkXdp(undefined, pair.a.name), [{ mode: IP_MODE.skb, progId: secondId }]);
    // expected = first, but second is attached: the kernel refuses (EPERM from link update).
    assert.throws(() => attachXdp(sys, first, pair.a.name, { mode: 'skb', expected: first }));
    assert.deepEqual(ipLinkXdp(undefined, pair.a.name), [{ mode: IP_MODE.skb, progId: secondId }]);
  }
  {
    using _att = attachXdp(sys, first, pair.a.name, { mode: 'skb', link: false });
    assert.throws(() => attachXdp(sys, second, pair.a.name, { mode: 'skb', link: false, expected: second }), /EEXIST|EBUSY/);
    const swapped = attachXdp(sys, second, pair.a.name, { mode: 'skb', link: false, expected: first });
    assert.deepEqual(ipLinkXdp(undefined, pair.a.name), [{ mode: IP_MODE.skb, progId: secondId }]);
    assert.equal(firstId !== secondId, true);
    swapped.detach();
  }
  assert.deepEqual(ipLinkXdp(undefined, pair.a.name), []);
});

kernelTest('hw mode on veth: AttachNotSupportedError naming the device and driver', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using prog = loadXdp(sys, 'bk_xdp_hw');
  for (const link of [undefined, false] as const) {
    let err: unknown;
    try {
      attachXdp(sys, prog, pair.a.name, { mode: 'hw', link });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof AttachNotSupportedError, String(err));
    assert.equal(err.code, 'ERR_NOT_SUPPORTED');
    assert.equal(err.ifname, pair.a.name);
    assert.match(err.message, /^XDP offload \(hw mode\) not supported: bkat\w+: /);
    assert.match(err.message, err.kernelMessage ? new RegExp(err.kernelMessage) : /veth driver refused/);
  }
  assert.deepEqual(ipLinkXdp(undefined, pair.a.name), []);
});

kernelTest('an interface that does not exist: InterfaceNotFoundError naming it', (sys) => {
  using prog = loadXdp(sys, 'bk_xdp_none');
  assert.throws(() => attachXdp(sys, prog, 'bkatnosuchif'), (e: unknown) => e instanceof InterfaceNotFoundError && e.iface === 'bkatnosuchif' && /"bkatnosuchif"/.test(e.message));
  assert.throws(() => attachXdp(sys, prog, 0x7ffff0), (e: unknown) => e instanceof InterfaceNotFoundError && /ifindex 8388592/.test(e.message));
  assert.throws(() => detachXdp(sys, 'bkatnosuchif'), InterfaceNotFoundError);
});

kernelTest('detachXdp removes a link attachment and a netlink one, reporting what it removed', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using prog = loadXdp(sys, 'bk_xdp_det');
  const id = programInfo(prog).id;
  const att = attachXdp(sys, prog, pair.a.name, { mode: 'skb' });
  const linkId = att.linkId;
  const removed = detachXdp(sys, pair.a.name);
  assert.deepEqual(removed, [{ ifindex: pair.a.ifindex, ifname: pair.a.name, mode: 'skb', progId: id, via: 'link', linkId }]);
  assert.deepEqual(ipLinkXdp(undefined, pair.a.name), []);
  att.close();
  const nl = attachXdp(sys, prog, pair.a.name, { mode: 'native', link: false });
  assert.deepEqual(detachXdp(sys, pair.a.name).map((d) => [d.mode, d.via, d.progId]), [['native', 'netlink', id]]);
  assert.deepEqual(detachXdp(sys, pair.a.name), []);
  nl.release();
});

kernelTest('a pinned XDP link outlives its fd; reopened from the pin it detaches, and the pin can then be removed', (sys) => {
  const dir = `/sys/fs/bpf/bpfkit-at-x${process.pid}`;
  mkdirSync(dir);
  try {
    using pair = createVethPair({ prefix: 'bkat' });
    let linkId: number | undefined;
    {
      using prog = loadXdp(sys, 'bk_xdp_pin');
      using att = attachXdp(sys, prog, pair.a.name, { mode: 'skb' });
      att.pin(`${dir}/link`);
      linkId = att.linkId;
    }
    // Program and link fds are closed: the pin keeps the attachment.
    assert.equal(ipLinkXdp(undefined, pair.a.name).length, 1);
    using link = getPinnedObject(sys, `${dir}/link`, 'link');
    assert.deepEqual([linkInfo(link).id, linkInfo(link).ifindex], [linkId, pair.a.ifindex]);
    detachLink(link);
    assert.deepEqual(ipLinkXdp(undefined, pair.a.name), []);
    assert.equal(linkInfo(link).ifindex, 0, 'a detached link reports no interface');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

kernelTest('a program of the wrong type: WrongProgramTypeError before anything is attached', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using cls = loadProgram(sys, { type: ProgType.SCHED_CLS, insns: retImm(0), license: 'GPL', name: 'bk_cls' });
  using xdp = loadXdp(sys, 'bk_xdp_wrong');
  assert.throws(() => attachXdp(sys, cls, pair.a.name), (e: unknown) => e instanceof WrongProgramTypeError && e.message === `prog ${programInfo(cls).id} is a sched_cls program; XDP takes xdp programs`);
  assert.throws(() => attachTc(sys, xdp, pair.a.name, { direction: 'ingress' }), (e: unknown) => e instanceof WrongProgramTypeError && /is a xdp program; TCX takes sched_cls programs/.test(e.message));
  assert.deepEqual(ipLinkXdp(undefined, pair.a.name), []);
});
