// Waiting on an epoll fd from Node without blocking the event loop (ring buffer and perf readers).
//
// epoll_wait is called with timeout 0 only; between polls the wait yields to the event loop,
// first on setImmediate for `spinTurns` turns (low latency under a burst), then on timers that
// back off to `intervalMs` (little CPU when idle). `wake()` ends a pending wait at once (close).
import type { Sys } from './sys.js';

// Events only say "look again": a few per poll are enough, whatever the number of fds.
const MAX_EVENTS = 16;

/** How a poller paces itself. */
export interface PollPacing {
  /** Longest sleep between polls once idle, in ms (default 5). */
  readonly intervalMs?: number;
  /** Polls on setImmediate before backing off to timers (default 16). */
  readonly spinTurns?: number;
}

/** Polls one epoll fd until a condition holds. */
export class EventLoopPoller {
  readonly #interval: number;
  readonly #spin: number;
  #wake: (() => void) | undefined;

  constructor(
    private readonly sys: Sys,
    private readonly epfd: number,
    pacing: PollPacing = {},
  ) {
    this.#interval = pacing.intervalMs ?? 5;
    this.#spin = pacing.spinTurns ?? 16;
  }

  /** Resolves once `ready()` holds after an epoll event, or once `stop()` holds. */
  async waitUntil(ready: () => boolean, stop: () => boolean): Promise<void> {
    let turns = 0;
    let delay = 0;
    while (!stop() && !ready()) {
      if (this.sys.epollWait(this.epfd, MAX_EVENTS, 0).length > 0 && ready()) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (turns++ < this.#spin) setImmediate(resolve);
        else {
          delay = Math.min(this.#interval, Math.max(1, delay * 2));
          setTimeout(resolve, delay);
        }
      });
      this.#wake = undefined;
    }
  }

  /** Ends a pending wait now (the caller re-checks `stop`). */
  wake(): void {
    this.#wake?.();
  }
}

/** The pacing a reader's options ask for (`pollIntervalMs`, `spinTurns`), unset fields left out. */
export function pacing(options: { readonly pollIntervalMs?: number; readonly spinTurns?: number }): PollPacing {
  return {
    ...(options.pollIntervalMs === undefined ? {} : { intervalMs: options.pollIntervalMs }),
    ...(options.spinTurns === undefined ? {} : { spinTurns: options.spinTurns }),
  };
}
