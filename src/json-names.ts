// JSON names as bpftool writes them (snake_case), for every command's and the dashboard's JSON.

/** `rxMax` -> `rx_max`, `runTimeNs` -> `run_time_ns`: bpftool's JSON names are snake_case. */
export const snakeCase = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();

/**
 * `value` with every object key in camelCase renamed to snake_case, recursively. Keys that are
 * data, not names (sysctl and feature names have no capitals; a selector the user typed is
 * listed in `keep`, whose values are kept whole) are left alone.
 */
export function snakeCaseKeys(value: unknown, keep: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((v) => snakeCaseKeys(v, keep));
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [keep.has(k) ? k : snakeCase(k), keep.has(k) ? v : snakeCaseKeys(v, keep)]));
}
