// A function's or type's signature as bpftool prints it above a function in `prog dump xlated` (`int f(struct xdp_md * ctx)`).

import type { TypeTable } from './resolve.js';

const MAX_DEPTH = 64;

function typeOnly(btf: TypeTable, id: number, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  if (id === 0) return 'void ';
  const t = btf.types[id];
  if (!t) return undefined;
  const inner = (x: number): string | undefined => typeOnly(btf, x, depth + 1);
  switch (t.kind) {
    case 'int':
    case 'typedef':
    case 'float':
      return `${t.name} `;
    case 'struct':
    case 'union':
      return `${t.kind} ${t.name} `;
    case 'enum':
    case 'enum64':
      return `enum ${t.name} `;
    case 'array': {
      const e = inner(t.type);
      return e === undefined ? undefined : `${e}[${t.nelems | 0}]`;
    }
    case 'ptr': {
      const e = inner(t.type);
      return e === undefined ? undefined : `${e}* `;
    }
    case 'fwd':
      return `${t.fwdKind} ${t.name} `;
    case 'volatile':
    case 'const':
    case 'restrict': {
      const e = inner(t.type);
      return e === undefined ? undefined : `${t.kind} ${e}`;
    }
    case 'func_proto':
      return funcText(btf, id, undefined, depth);
    case 'func':
      return funcText(btf, t.type, t.name, depth);
    case 'var': {
      const e = inner(t.type);
      return e === undefined ? undefined : `${t.linkage === 'static' ? 'static ' : ''}${e} ${t.name}`;
    }
    case 'datasec':
      return `section ("${t.name}") `;
    default:
      return undefined;
  }
}

function funcText(btf: TypeTable, protoId: number, name: string | undefined, depth: number): string | undefined {
  const proto = btf.types[protoId];
  if (!proto || proto.kind !== 'func_proto') return undefined;
  const ret = typeOnly(btf, proto.returnType, depth + 1);
  if (ret === undefined) return undefined;
  let s = `${ret}${name ?? ''}(`;
  for (const [i, p] of proto.params.entries()) {
    if (i) s += ', ';
    if (p.type === 0) {
      s += '...';
      continue;
    }
    const pt = typeOnly(btf, p.type, depth + 1);
    if (pt === undefined) return undefined;
    s += pt;
    if (p.name) s += p.name;
    else if (s.endsWith(' ')) s = s.slice(0, -1); // no name: drop the separating space, as bpftool
  }
  return `${s})`;
}

/**
 * bpftool's btf_dumper_type_only: type `id` spelled the way bpftool heads a function in an
 * xlated dump — `int xdp_prog(struct xdp_md * ctx)` (a space before every `*`), arrays as
 * `int [4]`, vars as `static int x`. `''` for what bpftool cannot spell (type tags, void kinds).
 */
export function bpftoolTypeSignature(btf: TypeTable, id: number): string {
  return typeOnly(btf, id, 0) ?? '';
}
