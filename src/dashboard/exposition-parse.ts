// A strict reader of the Prometheus 0.0.4 text format: checks an exposition line by line (pure).
import { BpfkitError } from '../errors.js';
import type { MetricType } from './prometheus.js';

/** One parsed sample: metric name, labels (unescaped) and value (as Go's ParseFloat would read it). */
export interface ParsedSample {
  /** The sample's metric name. */
  readonly name: string;
  /** Label values, unescaped. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value as a number (`NaN`, `+Inf`, `-Inf` included). */
  readonly value: number;
  /** The value exactly as written. */
  readonly raw: string;
}

/** One parsed family: HELP and TYPE, and its samples. */
export interface ParsedFamily {
  /** Metric name. */
  readonly name: string;
  /** HELP text, unescaped (undefined without a HELP line). */
  readonly help: string | undefined;
  /** TYPE (`untyped` without a TYPE line). */
  readonly type: MetricType;
  /** Samples in order. */
  readonly samples: ParsedSample[];
}

/** The text breaks the format; `line` is 1-based. */
export class ExpositionParseError extends BpfkitError {
  constructor(
    /** 1-based line number. */
    readonly line: number,
    /** What is wrong. */
    readonly reason: string,
  ) {
    super('ERR_EXPOSITION_PARSE', `line ${line}: ${reason}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN)$/;

/** The family a sample name belongs to (histograms and summaries add suffixes). */
function familyOf(sample: string, families: ReadonlyMap<string, ParsedFamily>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const base = sample.slice(0, -suffix.length);
    const f = families.get(base);
    if (f && (f.type === 'histogram' || f.type === 'summary')) return base;
  }
  return sample;
}

/** Unescapes a HELP text: `\\` and `\n`; any other escape is kept as written, as Prometheus does. */
function unescapeHelp(s: string): string {
  return s.replace(/\\([\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Reads `{a="x",b="y"}` from `text` at `at` (just after `{`); returns labels and the index after `}`. */
function readLabels(text: string, at: number, line: number): { labels: Record<string, string>; next: number } {
  const labels: Record<string, string> = {};
  let i = at;
  for (;;) {
    if (text[i] === '}') return { labels, next: i + 1 };
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new ExpositionParseError(line, 'label without "="');
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new ExpositionParseError(line, `invalid label name ${JSON.stringify(name)}`);
    if (name.startsWith('__')) throw new ExpositionParseError(line, `reserved label name ${name}`);
    if (Object.hasOwn(labels, name)) throw new ExpositionParseError(line, `label ${name} twice`);
    if (text[eq + 1] !== '"') throw new ExpositionParseError(line, `label ${name}: value not quoted`);
    let value = '';
    let j = eq + 2;
    for (;; j++) {
      const c = text[j];
      if (c === undefined) throw new ExpositionParseError(line, `label ${name}: unterminated value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = text[++j];
        if (e === '\\') value += '\\';
        else if (e === '"') value += '"';
        else if (e === 'n') value += '\n';
        else throw new ExpositionParseError(line, `label ${name}: invalid escape \\${e ?? ''}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (text[i] !== '}') throw new ExpositionParseError(line, `expected "," or "}" after label ${name}`);
  }
}

/**
 * Parses and checks an exposition: HELP/TYPE at most once per family and before its samples,
 * valid names, label escapes (`\\`, `\"`, `\n` only), values Go can parse, no series twice, a
 * family's lines together, and a final newline. Throws {@link ExpositionParseError}.
 */
export function parseExposition(text: string): ParsedFamily[] {
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  if (text !== '' && !text.endsWith('\n')) throw new ExpositionParseError(text.split('\n').length, 'the last line does not end with a newline');
  const lines = text.split('\n');
  lines.pop();
  const family = (name: string, line: number): ParsedFamily => {
    if (current !== name) {
      if (current !== undefined) closed.add(current);
      if (closed.has(name)) throw new ExpositionParseError(line, `lines of ${name} are not together`);
      current = name;
    }
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, help: undefined, type: 'untyped', samples: [] }));
    return f;
  };
  lines.forEach((l, idx) => {
    const line = idx + 1;
    if (l.trim() === '') return;
    if (l.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(l);
      if (!m) return; // a plain comment
      const [, kw, name = '', rest = ''] = m;
      if (!METRIC_NAME.test(name)) throw new ExpositionParseError(line, `invalid metric name ${JSON.stringify(name)}`);
      const f = family(name, line);
      if (kw === 'HELP') {
        if (f.help !== undefined) throw new ExpositionParseError(line, `second HELP for ${name}`);
        (f as { help: string | undefined }).help = unescapeHelp(rest);
      } else {
        if (!TYPES.includes(rest as MetricType)) throw new ExpositionParseError(line, `unknown type ${JSON.stringify(rest)}`);
        if (f.samples.length) throw new ExpositionParseError(line, `TYPE of ${name} after its samples`);
        if ((f as { typed?: boolean }).typed) throw new ExpositionParseError(line, `second TYPE for ${name}`);
        (f as { typed?: boolean }).typed = true;
        (f as { type: MetricType }).type = rest as MetricType;
      }
      return;
    }
    const nameEnd = l.search(/[{ ]/);
    if (nameEnd <= 0) throw new ExpositionParseError(line, 'a sample needs a name and a value');
    const name = l.slice(0, nameEnd);
    if (!METRIC_NAME.test(name)) throw new ExpositionParseError(line, `invalid metric name ${JSON.stringify(name)}`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (l[i] === '{') ({ labels, next: i } = readLabels(l, i + 1, line));
    if (l[i] !== ' ') throw new ExpositionParseError(line, 'expected a space before the value');
    const fields = l.slice(i + 1).split(' ');
    const raw = fields[0] ?? '';
    if (fields.length > 2 || (fields.length === 2 && !/^-?\d+$/.test(fields[1] ?? ''))) throw new ExpositionParseError(line, 'trailing text after the value (only an integer timestamp may follow)');
    if (!FLOAT.test(raw)) throw new ExpositionParseError(line, `invalid value ${JSON.stringify(raw)}`);
    const f = family(familyOf(name, families), line);
    const identity = `${name}\u0000${Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join('\u0000')}`;
    if (series.has(identity)) throw new ExpositionParseError(line, `duplicate series ${l.slice(0, i)}`);
    series.add(identity);
    const value = /^[+-]?[Ii]nf$/.test(raw) ? (raw.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    f.samples.push({ name, labels, value, raw });
  });
  return [...families.values()].map(({ name, help, type, samples }) => ({ name, help, type, samples }));
}
