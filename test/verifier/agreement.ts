// Comparing bpfkit's verdicts with the kernel's: message classes, per-program outcomes, the report.
import type { KernelVerdict } from './kernel-oracle.js';

/** The classes rejection messages fall into, so "same reason, other words" counts as agreement. */
const CLASSES: [string, RegExp][] = [
  ['uninit-register', /!read_ok/],
  ['context-access', /bpf_context access|modified ctx ptr|invalid bpf_context/],
  ['packet-range', /outside of the packet|invalid access to packet/],
  ['null-pointer-arithmetic', /_or_null prohibited/],
  ['pointer-arithmetic', /pointer arithmetic|bitwise operator \S+ on pointer|pointer \+= pointer|subtraction from stack pointer|math between \w+ pointer and -?\d+ is not allowed|pointer comparison prohibited/],
  ['bounds', /outside of the allowed memory range|unbounded memory access|unbounded min value|min value is negative|pointer be out of bounds|invalid access to map value|invalid access to memory/],
  ['memory-type', /invalid mem access/],
  ['stack', /stack|register spill|register fill/],
  ['division-shift', /div by zero|invalid shift/],
  ['helper-availability', /cannot use helper|invalid func|unknown func/],
  ['reference', /reference leak|Unreleased reference|must have zero offset when passed to release|release/],
  ['helper-argument', /type=\w+ expected=|cannot pass map_type|expected prog array|not a known constant|zero-sized|R\d+ min value is negative/],
  ['control-flow', /jump out of range|unreachable insn|last insn is not|ldimm64|back-edge|infinite loop|call to invalid destination|jump into/],
  ['calls', /call stack of|combined stack size|recursive call|cannot return stack pointer|not allowed in subprogs|func_info/],
  ['complexity', /too large|too complex/],
  ['return-value', /At program exit|leaks addr/],
  ['read-only', /read only/],
];

/** The class of a rejection message ('other' when none matches, 'none' for no message). */
export function messageClass(message: string | undefined): string {
  if (!message) return 'none';
  for (const [name, re] of CLASSES) if (re.test(message)) return name;
  return 'other';
}

/** The complexity limit's count is the limit the run used, not a property of the program. */
function normalize(message: string | undefined): string | undefined {
  return message?.replace(/Processed \d+ insn/, 'Processed N insn');
}

/** What bpfkit said, reduced to what is compared. */
export interface OurVerdict {
  readonly verdict: 'accept' | 'reject';
  readonly message?: string;
}

/**
 * How bpfkit's verdict relates to the kernel's: both accept (`agree`), both reject with the
 * same message (`exact`, matching either of the kernel's last two reason lines) or the same
 * class (`class`) or another reason (`reason-differs`); or bpfkit refuses what the kernel takes
 * (`stricter`) or takes what the kernel refuses (`looser`, a bug).
 */
export type Outcome = 'agree' | 'exact' | 'class' | 'reason-differs' | 'stricter' | 'looser';

/** Compares one program's verdicts. */
export function compareVerdicts(kernel: KernelVerdict, ours: OurVerdict): Outcome {
  if (kernel.verdict === 'accept') return ours.verdict === 'accept' ? 'agree' : 'stricter';
  if (ours.verdict === 'accept') return 'looser';
  const m = normalize(ours.message?.trim());
  const k = normalize(kernel.message);
  const d = normalize(kernel.detail);
  if (m && (m === k || m === d || (d && m === `${d}\n${k}`))) return 'exact';
  const c = messageClass(m);
  return c !== 'none' && (c === messageClass(kernel.message) || c === messageClass(kernel.detail)) ? 'class' : 'reason-differs';
}

/** One compared program. */
export interface Comparison {
  readonly name: string;
  readonly outcome: Outcome;
  readonly kernel: KernelVerdict;
  readonly ours: OurVerdict;
  readonly cve?: string;
}

/** Tallies and a printable report of many comparisons. */
export class AgreementReport {
  readonly rows: Comparison[] = [];

  constructor(readonly title: string) {}

  add(row: Comparison): void {
    this.rows.push(row);
  }

  count(...outcomes: Outcome[]): number {
    return this.rows.filter((r) => outcomes.includes(r.outcome)).length;
  }

  /** Verdict agreement: both accept or both reject, whatever the reason. */
  get rate(): number {
    return this.rows.length === 0 ? 1 : this.count('agree', 'exact', 'class', 'reason-differs') / this.rows.length;
  }

  /** Rows where bpfkit is looser than the kernel on a CVE program. */
  get looserOnCve(): Comparison[] {
    return this.rows.filter((r) => r.outcome === 'looser' && r.cve !== undefined);
  }

  /** The report: rates, then stricter and looser cases with both reasons (at most `limit` each). */
  format(limit = 25): string {
    const n = this.rows.length;
    const pct = (x: number) => `${((100 * x) / Math.max(1, n)).toFixed(1)}%`;
    const rejectsBoth = this.count('exact', 'class', 'reason-differs');
    const lines = [
      `${this.title}: ${n} programs, verdict agreement ${pct(n * this.rate)} ` +
        `(accept both ${this.count('agree')}, reject both ${rejectsBoth}: same message ${this.count('exact')}, same class ${this.count('class')}, other reason ${this.count('reason-differs')}; ` +
        `stricter ${this.count('stricter')}, looser ${this.count('looser')})`,
    ];
    for (const kind of ['looser', 'stricter', 'reason-differs'] as const) {
      const rows = this.rows.filter((r) => r.outcome === kind);
      if (rows.length === 0) continue;
      lines.push(`  ${kind} (${rows.length}):`);
      for (const r of rows.slice(0, limit)) {
        const k = r.kernel.verdict === 'accept' ? 'kernel accepts' : `kernel: ${r.kernel.message ?? '?'}`;
        const o = r.ours.verdict === 'accept' ? 'bpfkit accepts' : `bpfkit: ${r.ours.message ?? '?'}`;
        lines.push(`    ${r.name}${r.cve ? ` [${r.cve}]` : ''} — ${k} | ${o}`);
      }
      if (rows.length > limit) lines.push(`    ... ${rows.length - limit} more (BPFKIT_VERBOSE=1 lists all)`);
    }
    return lines.join('\n');
  }

  /** Outcome counts per message class of the kernel's rejection (where the verifier is weakest). */
  byClass(): string {
    const m = new Map<string, { n: number; ok: number }>();
    for (const r of this.rows) {
      const c = r.kernel.verdict === 'accept' ? 'accepted-by-kernel' : messageClass(r.kernel.message);
      const e = m.get(c) ?? { n: 0, ok: 0 };
      e.n++;
      if (r.outcome !== 'stricter' && r.outcome !== 'looser') e.ok++;
      m.set(c, e);
    }
    return [...m].sort((a, b) => b[1].n - a[1].n).map(([c, e]) => `${c} ${e.ok}/${e.n}`).join(', ');
  }
}
