// The expectations of a verifier selftest program: bpf_misc.h's __success/__failure/__msg/... are
// BTF decl tags (`comment:test_expect_failure`) on the program's FUNC; read them as test_loader.c does.

import type { Btf } from '../../src/btf/index.js';

/** BPF_PROG_LOAD flags test_loader knows by name (`__flag(BPF_F_...)`). */
export const PROG_FLAGS: Readonly<Record<string, number>> = {
  BPF_F_STRICT_ALIGNMENT: 1 << 0,
  BPF_F_ANY_ALIGNMENT: 1 << 1,
  BPF_F_TEST_RND_HI32: 1 << 2,
  BPF_F_TEST_STATE_FREQ: 1 << 3,
  BPF_F_SLEEPABLE: 1 << 4,
  BPF_F_XDP_HAS_FRAGS: 1 << 5,
  BPF_F_TEST_REG_INVARIANTS: 1 << 7,
};

/** What the annotations of one program ask, for the privileged run. */
export interface Expectation {
  /** The program has a privileged test (test_loader's PRIV mode bit). */
  readonly priv: boolean;
  /** `__failure` (else success). */
  readonly expectFailure: boolean;
  /** `__msg(...)` in order (test_loader matches them in order, `{{regex}}` parts as regular expressions). */
  readonly messages: readonly string[];
  /** `__description(...)`, else the program's name. */
  readonly description: string;
  /** `__auxiliary`: loaded with every test of the object, not a test itself. */
  readonly auxiliary: boolean;
  /** `__flag(...)`s set (or cleared with `!`) on top of the default flags. */
  readonly flags: readonly string[];
  /** `__log_level(N)`. */
  readonly logLevel: number;
  /** `__btf_path(...)`: the program needs a custom BTF. */
  readonly btfPath?: string;
  /** `__arch(...)`s; empty means any. */
  readonly arches: readonly string[];
}

const PFX = 'comment:';

/** The expectations of every function of `btf` that carries selftest tags, by function name. */
export function expectations(btf: Btf): Map<string, Expectation> {
  const tags = new Map<string, string[]>();
  for (const t of btf.types) {
    if (t.kind !== 'decl_tag' || t.componentIdx !== -1 || !t.name.startsWith(PFX)) continue;
    const target = btf.types[t.type];
    if (target?.kind !== 'func') continue;
    const list = tags.get(target.name) ?? [];
    list.push(t.name.slice(PFX.length));
    tags.set(target.name, list);
  }
  const out = new Map<string, Expectation>();
  for (const [fn, list] of tags) out.set(fn, parseTags(fn, list));
  return out;
}

/** `test_expect_msg=12=text`: the counter orders the messages (decl tags come in any order). */
function counted(value: string): { n: number; text: string } {
  const m = /^(\d+)=([\s\S]*)$/.exec(value);
  return m ? { n: Number(m[1]), text: m[2]! } : { n: 0, text: value };
}

function parseTags(fn: string, list: readonly string[]): Expectation {
  let priv = false;
  let expectFailure = false;
  let auxiliary = false;
  let description = fn;
  let logLevel = 0;
  let btfPath: string | undefined;
  const messages: { n: number; text: string }[] = [];
  const flags: string[] = [];
  const arches: string[] = [];
  let any = false;
  for (const tag of list) {
    const [key, ...rest] = tag.split('=');
    const value = rest.join('=');
    switch (key) {
      case 'test_expect_failure':
        expectFailure = true;
        priv = true;
        break;
      case 'test_expect_success':
        expectFailure = false;
        priv = true;
        break;
      case 'test_auxiliary':
        auxiliary = true;
        priv = true;
        break;
      case 'test_expect_msg':
        messages.push(counted(value));
        priv = true;
        break;
      case 'test_description':
        description = value;
        break;
      case 'test_log_level':
        logLevel = Number(value);
        break;
      case 'test_prog_flags':
        flags.push(value);
        break;
      case 'test_btf_path':
        btfPath = value;
        break;
      case 'test_arch':
        arches.push(value);
        break;
      case 'test_retval':
      case 'test_expect_xlated':
      case 'test_jited':
        priv = true;
        break;
      default:
        break;
    }
    if (key?.endsWith('_unpriv')) any = true;
  }
  // test_loader: no mode named at all means a privileged test.
  if (!priv && !any) priv = true;
  return {
    priv,
    expectFailure,
    messages: messages.sort((a, b) => a.n - b.n).map((m) => m.text),
    description,
    auxiliary,
    flags,
    logLevel,
    ...(btfPath === undefined ? {} : { btfPath }),
    arches,
  };
}

/** The load flags of a test: test_loader's defaults (RND_HI32, REG_INVARIANTS), then each `__flag` set or `!`cleared. */
export function loadFlags(e: Expectation, defaults = PROG_FLAGS['BPF_F_TEST_RND_HI32']! | PROG_FLAGS['BPF_F_TEST_REG_INVARIANTS']!): number {
  let flags = defaults;
  for (const f of e.flags) {
    const clear = f.startsWith('!');
    const name = clear ? f.slice(1) : f;
    const bit = PROG_FLAGS[name] ?? (/^(0x[0-9a-f]+|\d+)$/i.test(name) ? Number(name) : 0);
    flags = clear ? flags & ~bit : flags | bit;
  }
  return flags;
}

/** The regular expression of one `__msg`: literal text with `{{regex}}` parts (test_loader's syntax). */
function messagePattern(msg: string): RegExp {
  let src = '';
  let rest = msg;
  while (rest.length) {
    const open = rest.indexOf('{{');
    if (open < 0) {
      src += escape(rest);
      break;
    }
    const close = rest.indexOf('}}', open + 2);
    if (close < 0) {
      src += escape(rest);
      break;
    }
    src += escape(rest.slice(0, open)) + `(?:${rest.slice(open + 2, close)})`;
    rest = rest.slice(close + 2);
  }
  return new RegExp(src, 'g');
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first `__msg` the log does not contain in order (undefined: all found), as test_loader's validate_msgs. */
export function missingMessage(log: string, messages: readonly string[]): string | undefined {
  let from = 0;
  for (const m of messages) {
    const re = messagePattern(m);
    re.lastIndex = from;
    const hit = re.exec(log);
    if (!hit) return m;
    from = hit.index + hit[0].length;
  }
  return undefined;
}
