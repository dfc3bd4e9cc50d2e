// VerifierError: the kernel rejected a program (or BTF); keeps the whole log, summarises its end.
import { BpfkitError } from '../errors.js';
import { errnoName } from './errno.js';

/** Options of {@link VerifierError}. */
export interface VerifierErrorOptions {
  /** The KernelError the rejection arrived as. */
  cause?: unknown;
  /** True when the kernel's log did not fit the largest buffer tried. */
  truncated?: boolean;
}

// Statistics the verifier prints after its verdict; not part of the reason.
const TRAILER = /^(processed \d+ insns|verification time|stack depth|mark_precise|\s*$)/;
// "12: (bf) r0 = r2": an instruction line, with its index.
const INSN_LINE = /^(\d+): \([0-9a-f]{2}\)/;

/**
 * The kernel verifier refused a program (op `bpf(BPF_PROG_LOAD)`) or the BTF checker refused
 * BTF (`bpf(BPF_BTF_LOAD)`). `log` is the full log; the message is the op, the errno and the
 * log's last meaningful lines, with "(N lines omitted)" for the rest. `insn` is the index of the
 * last instruction the log shows, `sourceLine` the last `; source` line before it (with BTF).
 */
export class VerifierError extends BpfkitError {
  /** The operation, e.g. `'bpf(BPF_PROG_LOAD)'`. */
  readonly op: string;
  /** The errno of the rejection (EACCES or EINVAL usually). */
  readonly errno: number;
  /** The errno's name. */
  readonly errnoName: string;
  /** The complete log as the kernel wrote it. */
  readonly log: string;
  /** The log's lines, trailing empty line removed. */
  readonly lines: readonly string[];
  /** The reason: the log's last meaningful line(s), joined with `: `. */
  readonly summary: string;
  /** Instruction index the verifier stopped at, when the log names one. */
  readonly insn: number | undefined;
  /** The C source line the log printed for that instruction, when BTF line info was loaded. */
  readonly sourceLine: string | undefined;
  /** True when the log was cut short (it did not fit the largest buffer tried). */
  readonly truncated: boolean;

  constructor(op: string, errno: number, log: string, options?: VerifierErrorOptions) {
    const lines = log.split('\n');
    while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop();
    let end = lines.length;
    while (end > 0 && TRAILER.test(lines[end - 1] ?? '')) end--;
    if (end === 0) end = lines.length;
    const reason = lines.slice(Math.max(0, end - 1), end);
    const previous = lines[end - 2];
    // "R1 invalid mem access 'scalar'" reads better with the instruction before it.
    if (reason.length === 1 && previous !== undefined && INSN_LINE.test(previous) && (reason[0] ?? '').length < 40) reason.unshift(previous);
    const summary = reason.join(': ') || '(empty log)';
    const omitted = lines.length - reason.length;
    super(
      'ERR_VERIFIER',
      `${op}: ${errnoName(errno)}: ${summary}${omitted > 0 ? ` (${omitted} line${omitted === 1 ? '' : 's'} omitted)` : ''}${options?.truncated ? ' (log truncated)' : ''}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.op = op;
    this.errno = errno;
    this.errnoName = errnoName(errno);
    this.log = log;
    this.lines = lines;
    this.summary = summary;
    this.truncated = options?.truncated ?? false;
    let insn: number | undefined;
    let sourceLine: string | undefined;
    for (let i = end - 1; i >= 0 && insn === undefined; i--) {
      const m = INSN_LINE.exec(lines[i] ?? '');
      if (!m) continue;
      insn = Number(m[1]);
      for (let j = i - 1; j >= 0 && j >= i - 8; j--) {
        const line = lines[j] ?? '';
        if (line.startsWith('; ')) {
          sourceLine = line.slice(2).trim();
          break;
        }
        if (INSN_LINE.test(line)) break;
      }
    }
    this.insn = insn;
    this.sourceLine = sourceLine;
  }
}
