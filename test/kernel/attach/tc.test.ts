// TC attach against the kernel: TCX order with anchors, revisions, clsact filters vs tc, busy hooks, detach.
import assert from 'node:assert/strict';
import { ProgType } from '../../../src/kernel/bpf/constants.js';
import { programInfo } from '../../../src/kernel/bpf/obj-info.js';
import { loadProgram, type ProgFd } from '../../../src/kernel/bpf/prog-load.js';
import { AlreadyAttachedError, InterfaceNotFoundError } from '../../../src/kernel/attach/errors.js';
import { attachTc, detachTc, queryTc, queryTcx } from '../../../src/kernel/attach/tc.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import type { Sys } from '../../../src/kernel/sys.js';
import { createVethPair } from '../../support/netns.js';
import { kernelTest } from '../harness.js';
import { bpftoolLinks, bpftoolNet, tcFilters } from './oracle.js';

/** `r0 = -1 (TCX_NEXT); exit`. */
const TCX_NEXT = new Uint8Array([0xb7, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x95, 0, 0, 0, 0, 0, 0, 0]);
const loadTc = (sys: Sys, name: string): ProgFd => loadProgram(sys, { type: ProgType.SCHED_CLS, insns: TCX_NEXT, license: 'GPL', name });

kernelTest('TCX: anchors order the hook (first, last, before/after a prog or link); BPF_PROG_QUERY and bpftool link agree', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using p1 = loadTc(sys, 'bk_tcx_1');
  using p2 = loadTc(sys, 'bk_tcx_2');
  using p3 = loadTc(sys, 'bk_tcx_3');
  using p4 = loadTc(sys, 'bk_tcx_4');
  using p5 = loadTc(sys, 'bk_tcx_5');
  const id = (p: ProgFd): number => programInfo(p).id;
  using a1 = attachTc(sys, p1, pair.a.name, { direction: 'ingress' }); // [1]
  using _a2 = attachTc(sys, p2, pair.a.name, { direction: 'ingress', anchor: 'first' }); // [2 1]
  using _a3 = attachTc(sys, p3, pair.a.name, { direction: 'ingress', anchor: { before: { prog: p1 } } }); // [2 3 1]
  using _a4 = attachTc(sys, p4, pair.a.name, { direction: 'ingress', anchor: { after: { linkId: a1.linkId ?? 0 } } }); // [2 3 1 4]
  const before = queryTcx(sys, pair.a.ifindex, 'ingress');
  using _a5 = attachTc(sys, p5, pair.a.name, { direction: 'ingress', anchor: { before: { progId: id(p2) } }, expectedRevision: before.revision }); // [5 2 3 1 4]
  const q = queryTcx(sys, pair.a.ifindex, 'ingress');
  assert.deepEqual(q.progIds, [p5, p2, p3, p1, p4].map(id));
  assert.equal(q.revision, before.revision + 1n);
  // A stale revision is refused.
  assert.throws(() => attachTc(sys, p1, pair.a.name, { direction: 'egress', expectedRevision: 99n }), (e: unknown) => e instanceof KernelError && e.errno === 116 /* ESTALE */);
  // bpftool knows every link (v7.1 prints the TCX link type as a number or name, with the program).
  const links = bpftoolLinks().filter((l) => q.linkIds.includes(l.id));
  assert.deepEqual(links.map((l) => l.prog_id).sort(), [...q.progIds].sort());
  assert.deepEqual(queryTcx(sys, pair.a.ifindex, 'egress').progIds, []);
  const listed = queryTc(sys, pair.a.name, 'ingress');
  assert.deepEqual(listed.map((a) => [a.via, a.progId, a.linkId]), q.progIds.map((p, i) => ['tcx', p, q.linkIds[i]]));
});

kernelTest('TCX: the same program twice on a hook is AlreadyAttachedError (EEXIST); closing links empties the hook', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using prog = loadTc(sys, 'bk_tcx_dup');
  {
    using _att = attachTc(sys, prog, pair.a.name, { direction: 'egress' });
    assert.throws(() => attachTc(sys, prog, pair.a.name, { direction: 'egress' }), (e: unknown) => e instanceof AlreadyAttachedError && e.errnoName === 'EEXIST' && e.occupant?.progId === programInfo(prog).id);
  }
  assert.deepEqual(queryTcx(sys, pair.a.ifindex, 'egress').progIds, []);
});

kernelTest('clsact + cls_bpf: tc filter show and bpftool net agree; a taken priority/handle is AlreadyAttachedError with the extack', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using p1 = loadTc(sys, 'bk_cls_1');
  using p2 = loadTc(sys, 'bk_cls_2');
  const [id1, id2] = [programInfo(p1).id, programInfo(p2).id];
  {
    using _a = attachTc(sys, p1, pair.a.name, { direction: 'egress', classic: true, name: 'bk_cls_1.o:[tc]' });
    using _b = attachTc(sys, p2, pair.a.name, { direction: 'egress', classic: true, priority: 7, handle: 3 });
    assert.deepEqual(tcFilters(undefined, pair.a.name, 'egress'), [
      { pref: 1, handle: 1, name: 'bk_cls_1.o:[tc]', progId: id1, da: true },
      { pref: 7, handle: 3, name: 'bk_cls_2', progId: id2, da: true },
    ]);
    assert.deepEqual(
      bpftoolNet(undefined, pair.a.name).tc.map((t) => [t.kind, t.name, t.id]),
      [
        ['clsact/egress', 'bk_cls_1.o:[tc]', id1],
        ['clsact/egress', 'bk_cls_2', id2],
      ],
    );
    assert.deepEqual(queryTc(sys, pair.a.ifindex).map((a) => [a.direction, a.via, a.progId, a.priority, a.handle]), [
      ['egress', 'clsact', id1, 1, 1],
      ['egress', 'clsact', id2, 7, 3],
    ]);
    assert.throws(
      () => attachTc(sys, p2, pair.a.name, { direction: 'egress', classic: true }),
      (e: unknown) => e instanceof AlreadyAttachedError && e.errnoName === 'EEXIST' && e.extackMessage === 'Filter already exists' && e.occupant?.progId === id1,
    );
    // replace: the same place now runs p2
    using _c = attachTc(sys, p2, pair.a.name, { direction: 'egress', classic: true, replace: true });
    assert.equal(tcFilters(undefined, pair.a.name, 'egress')[0]?.progId, id2);
  }
  assert.deepEqual(tcFilters(undefined, pair.a.name, 'egress'), []);
});

kernelTest('detachTc removes TCX links and cls_bpf filters (all, or one program)', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  using p1 = loadTc(sys, 'bk_det_1');
  using p2 = loadTc(sys, 'bk_det_2');
  const a = attachTc(sys, p1, pair.a.name, { direction: 'ingress' });
  const b = attachTc(sys, p2, pair.a.name, { direction: 'ingress' });
  const c = attachTc(sys, p1, pair.a.name, { direction: 'ingress', classic: true });
  try {
    const one = detachTc(sys, pair.a.name, { direction: 'ingress', via: 'tcx', progId: programInfo(p2).id });
    assert.deepEqual(one.map((x) => [x.via, x.progId]), [['tcx', programInfo(p2).id]]);
    assert.deepEqual(queryTcx(sys, pair.a.ifindex, 'ingress').progIds, [programInfo(p1).id]);
    const rest = detachTc(sys, pair.a.name, { direction: 'ingress' });
    assert.deepEqual(rest.map((x) => x.via), ['tcx', 'clsact']);
    assert.deepEqual(queryTc(sys, pair.a.name), []);
  } finally {
    a.close();
    b.close();
    c.release();
  }
  assert.throws(() => detachTc(sys, 'bkatnosuchif', { direction: 'ingress' }), InterfaceNotFoundError);
});

kernelTest('TCX without a link (BPF_PROG_ATTACH): listed with link id 0, survives closing everything, detachTc removes it', (sys) => {
  using pair = createVethPair({ prefix: 'bkat' });
  let id: number;
  {
    using prog = loadTc(sys, 'bk_tcx_nolink');
    id = programInfo(prog).id;
    const att = attachTc(sys, prog, pair.a.name, { direction: 'egress', link: false });
    assert.equal(att.via, 'tcx');
    assert.equal(att.linkless, true);
    assert.throws(() => att.pin('/sys/fs/bpf/never'), /without a link/);
    att.release();
  }
  // The program fd is closed; the hook still holds the program.
  assert.deepEqual(queryTcx(sys, pair.a.ifindex, 'egress'), { progIds: [id], linkIds: [0], revision: queryTcx(sys, pair.a.ifindex, 'egress').revision });
  assert.deepEqual(detachTc(sys, pair.a.name, { direction: 'egress' }).map((a) => [a.via, a.progId, a.linkId]), [['tcx', id, 0]]);
  assert.deepEqual(queryTcx(sys, pair.a.ifindex, 'egress').progIds, []);
});
