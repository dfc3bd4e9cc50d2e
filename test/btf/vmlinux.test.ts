// The running kernel's BTF (/sys/kernel/btf/vmlinux) against bpftool, every type; encode round trip.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { BtfUnsizedTypeError, parseBtf, type Btf } from '../../src/btf/index.js';
import { bpftoolDump, toBpftool } from './tools.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const skip = existsSync(VMLINUX) ? false : `${VMLINUX} is absent: this kernel was built without CONFIG_DEBUG_INFO_BTF`;

describe('vmlinux BTF', { skip }, () => {
  let raw: Uint8Array;
  let btf: Btf;

  it('parses completely', () => {
    raw = new Uint8Array(readFileSync(VMLINUX));
    const t0 = performance.now();
    btf = parseBtf(raw);
    const ms = performance.now() - t0;
    console.log(`vmlinux: ${btf.types.length - 1} types, ${raw.length} bytes, parsed in ${ms.toFixed(1)} ms`);
    assert.ok(btf.types.length > 10_000, `only ${btf.types.length} types`);
  });

  it('matches bpftool on the type count and every type, field for field', () => {
    const theirs = bpftoolDump(VMLINUX);
    assert.equal(btf.types.length - 1, theirs.length);
    let kindName = 0;
    for (const want of theirs) {
      const t = btf.typeById(want.id);
      assert.equal(t.kind.toUpperCase(), want.kind, `type ${want.id}`);
      assert.equal(t.name || '(anon)', want.name, `type ${want.id}`);
      kindName++;
      const mine = toBpftool(t);
      // Cheap path first: same key order gives the same text; only a mismatch pays for a deep diff.
      if (JSON.stringify(mine) !== JSON.stringify(want)) assert.deepStrictEqual(mine, want, `type ${want.id}`);
    }
    assert.equal(kindName, btf.types.length - 1);
  });

  it('knows the kernel types everyone uses', () => {
    assert.equal(btf.resolveSize(btf.typeByName('__u32', 'typedef').id), 4);
    assert.equal(btf.format(btf.typeByName('xdp_md', 'struct').id), 'struct xdp_md');
    assert.equal(btf.resolveSize(btf.typeByName('xdp_md', 'struct').id), 24);
    assert.equal(btf.typeByName('bpf_attr', 'union').kind, 'union');
    // Formatting and sizing every type terminates; only typedefs of functions, fwds, void are unsized.
    let sized = 0;
    for (const t of btf.types) {
      btf.format(t.id);
      if (['int', 'ptr', 'array', 'struct', 'union', 'enum', 'enum64', 'typedef', 'float'].includes(t.kind)) {
        try {
          btf.resolveSize(t.id);
          sized++;
        } catch (e) {
          assert.ok(e instanceof BtfUnsizedTypeError && t.kind === 'typedef' && ['func_proto', 'fwd', 'void'].includes(btf.skipTypedefs(t.id).kind), `type ${t.id}: ${String(e)}`);
        }
      }
    }
    assert.ok(sized > 10_000);
  });

  it('re-encodes byte for byte', () => {
    const t0 = performance.now();
    const out = btf.encode();
    console.log(`vmlinux: encoded in ${(performance.now() - t0).toFixed(1)} ms`);
    assert.equal(out.length, raw.length);
    assert.ok(Buffer.from(out).equals(Buffer.from(raw)), 'encoded bytes differ');
  });
});
