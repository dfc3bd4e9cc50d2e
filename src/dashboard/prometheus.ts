// Prometheus text exposition format 0.0.4: metric families rendered exactly (pure: no Node APIs).
import { BpfkitError } from '../errors.js';

/** The metric types of the 0.0.4 text format. */
export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

/** A sample value: integers as bigint are printed exactly, numbers as Go's ParseFloat reads them (NaN, +Inf, -Inf). */
export type SampleValue = number | bigint;

/** One sample: its labels (name -> value, in print order) and value. */
export interface Sample {
  /** Label names and values; names are sanitised, values escaped at render time. */
  readonly labels: Readonly<Record<string, string>>;
  /** The value. */
  readonly value: SampleValue;
}

/** A metric family: one HELP, one TYPE and its samples. */
export interface MetricFamily {
  /** Metric name (sanitised at render time). */
  readonly name: string;
  /** One line of help (backslashes and newlines escaped at render time). */
  readonly help: string;
  /** The TYPE line's type. */
  readonly type: MetricType;
  /** The samples, each a distinct label set. */
  readonly samples: readonly Sample[];
}

/** The Content-Type of the 0.0.4 text format. */
export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Two samples of one family have the same label set (after sanitising): the output would be invalid. */
export class DuplicateSeriesError extends BpfkitError {
  constructor(
    /** The metric name. */
    readonly metric: string,
    /** The series as it would print (`name{a="1"}`). */
    readonly series: string,
  ) {
    super('ERR_DUPLICATE_SERIES', `metric ${metric}: duplicate series ${series}`);
  }
}

/** Two families render under one name with different types or help: they cannot be merged. */
export class ConflictingFamilyError extends BpfkitError {
  constructor(
    /** The metric name. */
    readonly metric: string,
    /** What differs. */
    readonly detail: string,
  ) {
    super('ERR_CONFLICTING_FAMILY', `metric ${metric}: ${detail}`);
  }
}

/**
 * A valid metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`): every other character becomes `_`, and a
 * leading digit gets a `_` in front. `xdp.stats-map` -> `xdp_stats_map`, `1m` -> `_1m`.
 */
export function sanitizeMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return s === '' ? '_' : /^[0-9]/.test(s) ? `_${s}` : s;
}

/**
 * A valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`, not starting with the reserved `__`): other
 * characters become `_`, a leading digit gets a `_`, leading underscores are cut to one.
 */
export function sanitizeLabelName(name: string): string {
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (/^[0-9]/.test(s)) s = `_${s}`;
  s = s.replace(/^__+/, '_');
  return s === '' ? '_' : s;
}

/** A label value escaped for the text format: `\` -> `\\`, `"` -> `\"`, newline -> `\n`. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\\' ? '\\\\' : c === '"' ? '\\"' : '\\n'));
}

/** A HELP text escaped for the text format: `\` -> `\\`, newline -> `\n` (quotes stay). */
export function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, (c) => (c === '\\' ? '\\\\' : '\\n'));
}

/** A sample value as the text format prints it: `NaN`, `+Inf`, `-Inf`, integers exactly, other numbers in JavaScript's shortest round-trip form. */
export function formatSampleValue(value: SampleValue): string {
  if (typeof value === 'bigint') return value.toString();
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Object.is(value, -0)) return '0';
  return String(value);
}

/** How one raw label-name list renders: sanitised names, and the order that sorts them (for series identity). */
interface LabelShape {
  readonly names: readonly string[];
  readonly order: readonly number[];
}

/** The shape of `rawNames` (cached by `key`): names sanitised, checked for a name used twice. */
function labelShape(cache: Map<string, LabelShape>, key: string, rawNames: readonly string[], metric: string): LabelShape {
  let shape = cache.get(key);
  if (shape) return shape;
  const names = rawNames.map(sanitizeLabelName);
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) throw new ConflictingFamilyError(metric, `label ${JSON.stringify(rawNames[i])} sanitises to ${n}, which is already set`);
  });
  const order = names.map((_, i) => i).sort((a, b) => (names[a]! < names[b]! ? -1 : 1));
  shape = { names, order };
  cache.set(key, shape);
  return shape;
}

const NEEDS_ESCAPE = /[\\"\n]/;

/**
 * Renders families in the 0.0.4 text format: per family `# HELP`, `# TYPE`, then one sample per
 * line, each line ending in `\n`. Families sharing a (sanitised) name are merged when type and help
 * agree ({@link ConflictingFamilyError} otherwise); a label set seen twice in one family is a
 * {@link DuplicateSeriesError}. Families without samples print only their HELP and TYPE.
 */
export function renderExposition(families: readonly MetricFamily[]): string {
  const merged = new Map<string, { help: string; type: MetricType; samples: Sample[] }>();
  for (const f of families) {
    const name = sanitizeMetricName(f.name);
    const have = merged.get(name);
    if (!have) merged.set(name, { help: f.help, type: f.type, samples: [...f.samples] });
    else if (have.type !== f.type) throw new ConflictingFamilyError(name, `declared as ${have.type} and as ${f.type}`);
    else if (have.help !== f.help) throw new ConflictingFamilyError(name, 'declared with two different help texts');
    else have.samples.push(...f.samples);
  }
  const lines: string[] = [];
  for (const [name, f] of merged) {
    lines.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`);
    const seen = new Set<string>();
    const shapes = new Map<string, LabelShape>();
    for (const s of f.samples) {
      const rawNames = Object.keys(s.labels);
      const shape = labelShape(shapes, rawNames.join('\u0000'), rawNames, name);
      const parts = rawNames.map((raw, i) => {
        const v = s.labels[raw]!;
        return `${shape.names[i]}="${NEEDS_ESCAPE.test(v) ? escapeLabelValue(v) : v}"`;
      });
      const series = parts.length ? `${name}{${parts.join(',')}}` : name;
      // A series is its label set, whatever the order the labels were given in.
      const identity = shape.order.map((i) => parts[i]).join('\u0000');
      if (seen.has(identity)) throw new DuplicateSeriesError(name, series);
      seen.add(identity);
      lines.push(`${series} ${formatSampleValue(s.value)}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
