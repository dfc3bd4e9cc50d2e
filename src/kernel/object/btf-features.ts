// Which BTF kinds the running kernel accepts: one tiny BPF_BTF_LOAD per kind, cached per Sys.
import { BtfBuilder, type BtfTypeInit } from '../../btf/index.js';
import { loadBtf } from '../bpf/btf-load.js';
import { haveFeature, type Feature } from '../feature-probe.js';
import { KernelError } from '../kernel-error.js';
import type { Sys } from '../sys.js';
import { VerifierError } from '../verifier-error.js';
import type { SanitizableKind } from './btf-fixup.js';

const INT: BtfTypeInit = { kind: 'int', name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 };

function btfKindFeature(name: string, minKernel: string, types: (b: BtfBuilder) => void): Feature {
  return {
    name,
    minKernel,
    probe(sys: Sys): boolean {
      const b = new BtfBuilder();
      b.add(INT);
      types(b);
      try {
        loadBtf(sys, b.encode()).close();
        return true;
      } catch (err) {
        // The kernel's BTF checker rejects an unknown kind with EINVAL and a log.
        if (err instanceof VerifierError || (err instanceof KernelError && err.errnoName === 'EINVAL')) return false;
        throw err;
      }
    },
  };
}

/** One probe per kind that libbpf knows how to sanitise. */
export const BTF_KIND_FEATURES: Readonly<Record<SanitizableKind, Feature>> = {
  datasec: btfKindFeature('BTF_KIND_VAR/DATASEC', '5.2', (b) => {
    const v = b.add({ kind: 'var', name: 'x', type: 1, linkage: 'global' });
    b.add({ kind: 'datasec', name: '.data', size: 4, vars: [{ type: v, offset: 0, size: 4 }] });
  }),
  func: btfKindFeature('BTF_KIND_FUNC/FUNC_PROTO', '5.0', (b) => {
    const p = b.add({ kind: 'func_proto', name: '', returnType: 1, params: [] });
    b.add({ kind: 'func', name: 'f', type: p, linkage: 'static' });
  }),
  global_func: btfKindFeature('global BTF functions', '5.6', (b) => {
    const p = b.add({ kind: 'func_proto', name: '', returnType: 1, params: [] });
    b.add({ kind: 'func', name: 'f', type: p, linkage: 'global' });
  }),
  float: btfKindFeature('BTF_KIND_FLOAT', '5.13', (b) => {
    b.add({ kind: 'float', name: 'float', size: 4 });
  }),
  decl_tag: btfKindFeature('BTF_KIND_DECL_TAG', '5.16', (b) => {
    // As libbpf probes it: a tag on a VAR (the kernel refuses a tag on an int whatever its version).
    const v = b.add({ kind: 'var', name: 'x', type: 1, linkage: 'static' });
    b.add({ kind: 'decl_tag', name: 'tag', type: v, componentIdx: -1, attribute: false });
  }),
  type_tag: btfKindFeature('BTF_KIND_TYPE_TAG', '5.17', (b) => {
    const tag = b.add({ kind: 'type_tag', name: 'tag', type: 1, attribute: false });
    b.add({ kind: 'ptr', name: '', type: tag });
  }),
  enum64: btfKindFeature('BTF_KIND_ENUM64', '6.0', (b) => {
    b.add({ kind: 'enum64', name: 'e', size: 8, signed: false, values: [{ name: 'A', value: 1n << 40n }] });
  }),
};

const missingCache = new WeakMap<Sys, ReadonlySet<SanitizableKind>>();

/** The kinds the kernel behind `sys` rejects (each probed once per Sys). */
export function missingBtfKinds(sys: Sys): ReadonlySet<SanitizableKind> {
  const cached = missingCache.get(sys);
  if (cached) return cached;
  const missing = new Set<SanitizableKind>();
  for (const [kind, feature] of Object.entries(BTF_KIND_FEATURES) as [SanitizableKind, Feature][]) {
    if (!haveFeature(sys, feature)) missing.add(kind);
  }
  missingCache.set(sys, missing);
  return missing;
}
