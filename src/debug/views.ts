// The state at a stop as a tree of named values: registers with the verifier's view, stack, packet, context, maps, last helper.

import { formatByteList } from '../runtime/byte-list.js';
import { formatDecoded, summarizeMap } from '../runtime/map-summary.js';
import { formatValue } from './expression.js';
import type { DebugSession } from './session.js';
import type { RegisterView } from './verifier-view.js';

/** A named value; `children` makes it expandable. */
export interface ViewNode {
  /** Name shown (`r1`, `fp-8`, `by_proto`). */
  readonly name: string;
  /** Value text. */
  readonly value: string;
  /** A memory address the value names (for readMemory), when it has one. */
  readonly address?: bigint;
  /** Children, computed when asked. */
  readonly children?: () => ViewNode[];
}

/** A scope of a frame: a top-level group of values. */
export interface ViewScope {
  /** `Registers`, `Verifier`, `Stack`, `Packet`, `Context`, `Maps`, `Last helper`. */
  readonly name: string;
  /** Whether a client should fetch it only on demand. */
  readonly expensive: boolean;
  /** Its values. */
  readonly nodes: () => ViewNode[];
}

const range = (r: readonly [bigint, bigint] | undefined, signed: boolean): string => {
  if (!r) return '';
  const f = (v: bigint): string => (signed ? BigInt.asIntN(64, v).toString() : v.toString());
  return `[${f(r[0])}, ${f(r[1])}]`;
};

/** The verifier's view of one register as child nodes. */
export function verifierNodes(v: RegisterView | undefined): ViewNode[] {
  if (!v) return [{ name: 'verifier', value: 'not initialised on any path' }];
  const out: ViewNode[] = [{ name: 'verifier', value: v.text }, { name: 'type', value: v.type }];
  if (v.tnum) out.push({ name: 'tnum', value: v.tnum });
  if (v.signed) out.push({ name: 'smin..smax', value: range(v.signed, true) });
  if (v.unsigned) out.push({ name: 'umin..umax', value: range(v.unsigned, false) });
  if (v.signed32) out.push({ name: 's32min..s32max', value: range(v.signed32, true) });
  if (v.unsigned32) out.push({ name: 'u32min..u32max', value: range(v.unsigned32, false) });
  return out;
}

/** The verifier's view of registers at frame `depth`'s instruction (undefined when no path reached it). */
export function registerViews(session: DebugSession, depth: number): readonly (RegisterView | undefined)[] | undefined {
  const f = session.frames().find((x) => x.depth === depth);
  if (!f) return undefined;
  return session.verifierViews(f.program).at[f.pc]?.regs;
}

function hexRows(bytes: Uint8Array, base: bigint): ViewNode[] {
  const out: ViewNode[] = [];
  for (let i = 0; i < bytes.length; i += 16) out.push({ name: `+${i.toString(16).padStart(4, '0')}`, value: formatByteList(bytes.subarray(i, i + 16)), address: base + BigInt(i) });
  return out;
}

/** The scopes of frame `depth` at the current stop. */
export function frameScopes(session: DebugSession, depth: number): ViewScope[] {
  const frame = (): NonNullable<ReturnType<DebugSession['frames']>[number]> => {
    const f = session.frames().find((x) => x.depth === depth);
    if (!f) throw new RangeError(`no frame ${depth}`);
    return f;
  };
  const scopes: ViewScope[] = [
    {
      name: 'Registers',
      expensive: false,
      nodes: () => {
        const f = frame();
        const views = session.verifierViews(f.program).at[f.pc]?.regs;
        return f.regs.map((v, i) => {
          const view = views?.[i];
          return { name: `r${i}`, value: `${formatValue(v)}${view ? `  verifier: ${view.text}` : ''}`, ...(v > 0xffffffffn ? { address: v } : {}), children: () => verifierNodes(view) };
        });
      },
    },
    {
      name: 'Verifier',
      expensive: false,
      nodes: () => {
        const f = frame();
        const at = session.verifierViews(f.program).at[f.pc];
        if (!at) return [{ name: 'state', value: 'no verified path reached this instruction' }];
        const out: ViewNode[] = [{ name: 'paths', value: `${at.visits} path${at.visits === 1 ? '' : 's'} reached it (frame ${at.frame})` }];
        at.regs.forEach((r, i) => {
          if (r) out.push({ name: `R${i}`, value: r.text, children: () => verifierNodes(r) });
        });
        for (const [off, text] of at.stack) out.push({ name: `fp${off}`, value: text });
        return out;
      },
    },
    {
      name: 'Stack',
      expensive: false,
      nodes: () => {
        const st = session.stackBytes(depth);
        if (!st) return [];
        const f = frame();
        const vstack = session.verifierViews(f.program).at[f.pc]?.stack;
        const out: ViewNode[] = [];
        const n = st.bytes.length;
        for (let off = -8; off >= -n; off -= 8) {
          const b = st.bytes.subarray(n + off, n + off + 8);
          const known = vstack?.get(off);
          if (!known && b.every((x) => x === 0)) continue;
          let v = 0n;
          for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
          out.push({ name: `fp${off}`, value: `${formatByteList(b)}  = ${formatValue(v)}${known ? `  verifier: ${known}` : ''}`, address: st.fp + BigInt(off) });
        }
        if (out.length === 0) out.push({ name: 'stack', value: 'all zero, nothing written' });
        return out;
      },
    },
    {
      name: 'Packet',
      expensive: false,
      nodes: () => {
        const p = session.packet();
        if (!p) return [{ name: 'packet', value: 'this program type has no data/data_end' }];
        return [{ name: 'length', value: String(p.bytes.length) }, ...hexRows(p.bytes, p.address)];
      },
    },
    {
      name: 'Context',
      expensive: false,
      nodes: () => session.ctxFields().map((f) => ({ name: f.name, value: formatValue(f.value), ...(f.value > 0xffffffffn ? { address: f.value } : {}) })),
    },
    {
      name: 'Maps',
      expensive: true,
      nodes: () => {
        const obj = session.object;
        if (!obj) return [];
        return session.spec.maps.filter((m) => obj.mapOps.has(m.name)).map((m) => {
          const ops = obj.mapOps.get(m.name)!;
          const s = summarizeMap(ops, m, session.spec.btf, 64);
          return {
            name: m.name,
            value: `${s.type}${s.perCpu ? ', per CPU' : ''}: ${s.count} entr${s.count === 1 ? 'y' : 'ies'}${s.omitted ? ` (${s.omitted} zero or not shown)` : ''}`,
            children: () =>
              s.entries.map((e) => ({
                name: `[${e.keyDecoded !== undefined ? formatDecoded(e.keyDecoded) : e.key}]`,
                value: s.perCpu ? e.values.map((v, c) => `cpu${c}: ${formatDecoded(v)}`).join(', ') + (e.total !== undefined ? `, sum: ${formatDecoded(e.total)}` : '') : formatDecoded(e.values[0]!),
              })),
          };
        });
      },
    },
    {
      name: 'Last helper',
      expensive: false,
      nodes: () => {
        const h = session.lastHelper;
        if (!h) return [{ name: 'helper', value: 'no helper called yet in this packet' }];
        const out: ViewNode[] = [
          { name: 'helper', value: `${h.name} (#${h.id}) at ${h.program}:${h.pc}` },
          ...h.args.map((a, i) => ({ name: `r${i + 1}`, value: formatValue(a) })),
        ];
        if (h.tailCallTo !== undefined) out.push({ name: 'tail call', value: `jumped to ${h.tailCallTo}` });
        else out.push({ name: 'r0', value: h.result === undefined ? 'still running' : formatValue(h.result) });
        return out;
      },
    },
  ];
  return scopes;
}
