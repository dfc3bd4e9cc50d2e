// A minimal DOM for running the dashboard page's script in node:vm: elements, text, attributes, fetch and timers captured.
import vm from 'node:vm';

/** A node of the fake DOM. */
export class FakeNode {
  children: FakeNode[] = [];
  attributes = new Map<string, string>();
  hidden = false;
  dataset: Record<string, string> = {};
  #text = '';
  constructor(
    readonly tag: string,
    readonly ns = '',
  ) {}
  setAttribute(k: string, v: string): void {
    this.attributes.set(k, String(v));
  }
  append(...kids: FakeNode[]): void {
    this.children.push(...kids);
  }
  replaceChildren(...kids: FakeNode[]): void {
    this.children = [...kids];
  }
  set textContent(t: string) {
    this.#text = String(t);
    this.children = [];
  }
  get textContent(): string {
    return this.#text + this.children.map((c) => c.textContent).join('');
  }
  /** Every descendant with `tag`. */
  all(tag: string): FakeNode[] {
    return this.children.flatMap((c) => [...(c.tag === tag ? [c] : []), ...c.all(tag)]);
  }
}

/** A running page: its elements, errors it showed, and control over its polls. */
export interface FakePage {
  readonly byId: Map<string, FakeNode>;
  /** Texts the page showed in #error, and anything it logged. */
  readonly errors: unknown[];
  /** Waits for the poll in flight to finish rendering. */
  settle(): Promise<void>;
  /** Starts the next poll (the page's timer firing). */
  fire(): void;
}

/** Runs `script` with elements for `ids` and a `fetch` answering from `snapshots` in turn (the last one repeated). */
export function runPage(script: string, ids: readonly string[], snapshots: readonly string[], interval: number): FakePage {
  const byId = new Map(ids.map((id) => [id, new FakeNode('div')]));
  const body = new FakeNode('body');
  body.dataset['interval'] = String(interval);
  let pending: (() => void) | undefined;
  let served = 0;
  const errors: unknown[] = [];
  let settled: () => void = () => {};
  let current = new Promise<void>((resolve) => (settled = resolve));
  const document = {
    body,
    getElementById: (id: string) => byId.get(id),
    createElement: (tag: string) => new FakeNode(tag),
    createElementNS: (ns: string, tag: string) => new FakeNode(tag, ns),
    createTextNode: (t: string) => {
      const n = new FakeNode('#text');
      n.textContent = t;
      return n;
    },
  };
  const context = vm.createContext({
    document,
    Node: FakeNode,
    console: { error: (e: unknown) => errors.push(e), log: () => {} },
    fetch: async () => {
      const text = snapshots[Math.min(served++, snapshots.length - 1)]!;
      return { ok: true, statusText: 'OK', json: async () => JSON.parse(text) as unknown };
    },
    setTimeout: (fn: () => void) => {
      pending = fn;
      settled();
    },
  });
  vm.runInContext(script, context);
  return {
    byId,
    errors,
    settle: async () => {
      await current;
      const err = byId.get('error');
      if (err && !err.hidden) errors.push(err.textContent);
    },
    fire: () => {
      const run = pending;
      pending = undefined;
      current = new Promise<void>((resolve) => (settled = resolve));
      run?.();
    },
  };
}
