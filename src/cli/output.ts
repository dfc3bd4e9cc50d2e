// Output helpers shared by the commands: aligned text tables and stable JSON.

export { snakeCase, snakeCaseKeys } from '../json-names.js';

/** Where a command writes; injectable so tests capture output without spawning a process. */
export interface Io {
  /** Standard output. */
  out(text: string): void;
  /** Standard error. */
  err(text: string): void;
  /** Whether standard error is a terminal (progress lines with \r go only there). */
  readonly errIsTTY?: boolean;
}

/** The process's own streams. */
export const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  get errIsTTY() {
    return process.stderr.isTTY === true;
  },
};

/** Formats rows as a left-aligned table with a header, two spaces between columns. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[], indent = '  '): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  return cells.map((r) => indent + r.map((v, c) => (c === r.length - 1 ? v : (v ?? '').padEnd(widths[c]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** JSON as bpftool prints it with -j: one line; `pretty` indents like -p. */
export function json(value: unknown, pretty = false): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), pretty ? 2 : undefined) + '\n';
}

/** `0x1a` style hex for flags. */
export const hex = (n: number): string => `0x${(n >>> 0).toString(16)}`;
