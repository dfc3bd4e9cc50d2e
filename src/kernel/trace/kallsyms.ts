// Kernel addresses as symbol+offset, from /proc/kallsyms (read through Sys; addresses are zero without CAP_SYSLOG).
import type { Sys } from '../sys.js';

/** A sorted table of kernel text symbols. */
export class Kallsyms {
  readonly #addrs: bigint[];
  readonly #names: string[];

  /** Builds the table from the text of /proc/kallsyms (text symbols: t, T, w, W). */
  constructor(text: string) {
    const rows: [bigint, string][] = [];
    for (const line of text.split('\n')) {
      const sp1 = line.indexOf(' ');
      const kind = line[sp1 + 1];
      if (kind !== 't' && kind !== 'T' && kind !== 'w' && kind !== 'W') continue;
      const rest = line.slice(sp1 + 3);
      const tab = rest.indexOf('\t');
      const addr = BigInt(`0x${line.slice(0, sp1)}`);
      if (addr === 0n) continue;
      rows.push([addr, tab < 0 ? rest : rest.slice(0, tab)]);
    }
    rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    this.#addrs = rows.map((r) => r[0]);
    this.#names = rows.map((r) => r[1]);
  }

  /** Reads /proc/kallsyms through `sys`. */
  static read(sys: Sys): Kallsyms {
    return new Kallsyms(new TextDecoder().decode(sys.readFile('/proc/kallsyms')));
  }

  /** Number of symbols (0 when the addresses were hidden). */
  get size(): number {
    return this.#addrs.length;
  }

  /** `symbol+0xoff` for `addr` (the nearest symbol at or below it), or the bare hex address. */
  symbolize(addr: bigint): string {
    let lo = 0;
    let hi = this.#addrs.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#addrs[mid] as bigint) <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best < 0 || addr === 0n) return `0x${addr.toString(16)}`;
    return `${this.#names[best] as string}+0x${(addr - (this.#addrs[best] as bigint)).toString(16)}`;
  }
}
