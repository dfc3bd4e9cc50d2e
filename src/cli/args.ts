// Command-line parsing on node:util's parseArgs: global flags (-j/-p) plus each command's own.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

/** Option definitions in parseArgs' format. */
export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Flags every command accepts, spelled as bpftool spells them. */
export const GLOBAL_OPTIONS: OptionSpec = {
  json: { type: 'boolean', short: 'j' },
  pretty: { type: 'boolean', short: 'p' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * `--type TYPE`: the program type for sections libbpf cannot type, as bpftool's `prog load OBJ
 * PIN type TYPE` (xdp, classifier, action, socket, cgroup/skb...; also the kernel's names such
 * as sched_cls). Every command that reads an object's programs takes it.
 */
export const TYPE_OPTION: OptionSpec = {
  type: { type: 'string' },
};

/** Usage fragment of {@link TYPE_OPTION}. */
export const TYPE_USAGE = '[--type TYPE]';

/** Parsed arguments of one command. */
export class CommandArgs {
  private readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  private readonly positionals: string[];
  private used = 0;

  constructor(argv: readonly string[], options: OptionSpec, usage: string) {
    try {
      const parsed = parseArgs({ args: [...argv], options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
      this.values = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
      this.positionals = parsed.positionals;
    } catch (e) {
      throw new UsageError((e as Error).message.replace(/\. To specify a positional argument.*$/s, ''), usage);
    }
  }

  /** `--json` / `-j`, or `--pretty` (which implies JSON, as in bpftool). */
  get json(): boolean {
    return this.values['json'] === true || this.values['pretty'] === true;
  }
  /** `--pretty` / `-p`. */
  get pretty(): boolean {
    return this.values['pretty'] === true;
  }
  /** `--help` / `-h`. */
  get help(): boolean {
    return this.values['help'] === true;
  }

  /** `--type TYPE`, or undefined when absent (an empty value is a UsageError). */
  programType(usage: string): string | undefined {
    const v = this.value('type');
    if (v !== undefined && v.trim() === '') throw new UsageError('--type needs a program type (xdp, classifier, action, socket, ...)', usage);
    return v;
  }

  /** A boolean flag. */
  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** A string option, or undefined when absent. */
  value(name: string): string | undefined {
    const v = this.values[name];
    return typeof v === 'string' ? v : undefined;
  }

  /** The i-th positional argument; a UsageError naming it when missing. */
  positional(i: number, name: string, usage: string): string {
    const v = this.positionals[i];
    if (v === undefined) throw new UsageError(`missing ${name}`, usage);
    this.used = Math.max(this.used, i + 1);
    return v;
  }

  /** Positional arguments from index i on. */
  rest(i: number): string[] {
    this.used = Math.max(this.used, this.positionals.length);
    return this.positionals.slice(i);
  }

  /** Fails on positional arguments nobody consumed. */
  done(usage: string): void {
    if (this.positionals.length > this.used) throw new UsageError(`unexpected argument '${this.positionals[this.used]}'`, usage);
  }
}
