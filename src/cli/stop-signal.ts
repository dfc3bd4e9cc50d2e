// Running until stopped: SIGINT/SIGTERM (Ctrl-C, kill), a --duration, or an AbortSignal from a test, with a tick per interval.

/** Calls `fn` with an AbortSignal that fires on SIGINT or SIGTERM; the handlers are removed afterwards. */
export async function withStopSignals<T>(fn: (stop: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  const onSignal = (): void => ctl.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(ctl.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Parses a duration in seconds (`--duration 2.5`, `--interval 1`); a UsageError-worthy message when invalid. */
export function parseSeconds(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) throw new Error(`--${name} must be a positive number of seconds, got '${text}'`);
  return Number(text) * 1000;
}

/**
 * Waits until `stop` aborts or `durationMs` passes (undefined: until stopped), calling `tick`
 * every `intervalMs` (when given). `done()` inside a tick ends the wait early (a -c count reached).
 */
export function runUntil(stop: AbortSignal, options: { durationMs?: number; intervalMs?: number; tick?: () => void }): { promise: Promise<void>; done: () => void } {
  let finish: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    // Signal handlers do not keep Node alive: this timer does, until the wait ends.
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const timers: NodeJS.Timeout[] = [];
    let ended = false;
    finish = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(keepAlive);
      for (const t of timers) clearTimeout(t);
      stop.removeEventListener('abort', finish);
      resolve();
    };
    if (stop.aborted) return finish();
    stop.addEventListener('abort', finish, { once: true });
    if (options.durationMs !== undefined) timers.push(setTimeout(finish, options.durationMs));
    if (options.intervalMs !== undefined && options.tick) {
      const tick = options.tick;
      const again = (): void => {
        if (ended) return;
        tick();
        if (!ended) timers.push(setTimeout(again, options.intervalMs));
      };
      timers.push(setTimeout(again, options.intervalMs));
    }
  });
  return { promise, done: () => finish() };
}
