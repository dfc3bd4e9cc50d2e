// BTF load (with the checker's log) and XDP links (create, update, detach) against the real kernel.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { loadBtf } from '../../../src/kernel/bpf/btf-load.js';
import { AttachType, ProgType } from '../../../src/kernel/bpf/constants.js';
import { createLink, detachLink, updateLink } from '../../../src/kernel/bpf/link.js';
import { fdById } from '../../../src/kernel/bpf/obj-id.js';
import { btfInfo, linkInfo, programInfo } from '../../../src/kernel/bpf/obj-info.js';
import { loadProgram } from '../../../src/kernel/bpf/prog-load.js';
import { KernelError } from '../../../src/kernel/kernel-error.js';
import { VerifierError } from '../../../src/kernel/verifier-error.js';
import { bpftool, kernelTest } from '../harness.js';

/** Raw BTF with one type: `int` of `bits` bits in 4 bytes. */
function intBtf(bits: number): Uint8Array {
  const strings = new TextEncoder().encode('\0int\0');
  const out = new Uint8Array(24 + 16 + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true); // magic
  out[2] = 1; // version
  dv.setUint32(4, 24, true); // hdr_len
  dv.setUint32(8, 0, true); // type_off
  dv.setUint32(12, 16, true); // type_len
  dv.setUint32(16, 16, true); // str_off
  dv.setUint32(20, strings.length, true); // str_len
  dv.setUint32(24, 1, true); // name_off -> "int"
  dv.setUint32(28, 1 << 24, true); // kind INT, vlen 0
  dv.setUint32(32, 4, true); // size
  dv.setUint32(36, bits, true); // encoding 0, offset 0, nr_bits
  out.set(strings, 40);
  return out;
}

kernelTest('BTF load: a valid blob gives a BTF fd whose info matches; get fd by id round trip', (sys) => {
  using btf = loadBtf(sys, intBtf(32), { logLevel: 1 });
  const info = btfInfo(btf);
  assert.equal(info.size, intBtf(32).length);
  assert.equal(info.kernelBtf, false);
  assert.equal(info.name, '');
  assert.ok(info.id > 0);
  using again = fdById(sys, 'btf', info.id);
  assert.equal(btfInfo(again).id, info.id);
  using vmlinuxFd = fdById(sys, 'btf', 1);
  const vmlinux = btfInfo(vmlinuxFd);
  assert.equal(vmlinux.name, 'vmlinux');
  assert.equal(vmlinux.kernelBtf, true);
});

kernelTest('BTF load: a bad int width is a VerifierError with the checker\'s log', (sys) => {
  assert.throws(
    () => loadBtf(sys, intBtf(33)),
    (e: unknown) => e instanceof VerifierError && e.op === 'bpf(BPF_BTF_LOAD)' && e.errnoName === 'EINVAL' && /nr_bits/.test(e.log),
  );
});

kernelTest('XDP link on a veth interface: create, update to another program, detach', (sys) => {
  const dev = `bk${process.pid % 100000}`;
  execFileSync('ip', ['link', 'add', dev, 'type', 'veth', 'peer', 'name', `${dev}p`]);
  try {
    execFileSync('ip', ['link', 'set', dev, 'up']);
    const ifindex = sys.ifNameToIndex(dev);
    using first = loadProgram(sys, { type: ProgType.XDP, insns: new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: 'GPL', name: 'bk_first' });
    using second = loadProgram(sys, { type: ProgType.XDP, insns: new Uint8Array([0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]), license: 'GPL', name: 'bk_second' });
    using link = createLink(sys, { prog: first, attachType: AttachType.XDP, targetIfindex: ifindex });
    let info = linkInfo(link);
    assert.equal(info.type, 6);
    assert.equal(info.ifindex, ifindex);
    assert.equal(info.progId, programInfo(first).id);
    const shown = bpftool('link', 'show', 'id', String(info.id)) as { type: string; prog_id: number };
    assert.equal(shown.type, 'xdp');
    assert.equal(shown.prog_id, info.progId);

    updateLink(link, second, { oldProg: first });
    info = linkInfo(link);
    assert.equal(info.progId, programInfo(second).id);
    assert.throws(() => updateLink(link, first, { oldProg: first }), (e: unknown) => e instanceof KernelError && e.errnoName === 'EPERM', 'BPF_F_REPLACE with the wrong old program');

    detachLink(link);
    assert.equal(linkInfo(link).ifindex, 0, 'a detached XDP link has no interface');
    assert.doesNotMatch(execFileSync('ip', ['link', 'show', dev], { encoding: 'utf8' }), /xdp/);
  } finally {
    execFileSync('ip', ['link', 'del', dev]);
  }
});
