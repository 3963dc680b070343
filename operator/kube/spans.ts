// Opt-in timing spans for the scale bench (bench/operator/scale.bench.ts): named durations, and marks that a later
// event closes (a pod created here → seen by the informer). Off by default; when off, each call is one boolean test
// and nothing is stored. Process-wide on purpose: the bench runs the operator in its own process.

export interface SpanStats {
  count: number;
  totalMs: number;
  meanMs: number;
  maxMs: number;
  /** First start to last end over all spans of the name (the wall time they cover when they overlap). */
  wallMs: number;
}

class Spans {
  enabled = false;
  private readonly d = new Map<string, { n: number; sum: number; max: number; first: number; last: number }>();
  private readonly marks = new Map<string, number>();

  enable(): void {
    this.enabled = true;
  }

  reset(): void {
    this.d.clear();
    this.marks.clear();
  }

  /** Records a span that started at `t0` (performance.now()) and ends now. */
  end(name: string, t0: number): void {
    if (!this.enabled) return;
    const t1 = performance.now();
    const s = this.d.get(name) ?? { n: 0, sum: 0, max: 0, first: t0, last: t1 };
    s.n++;
    s.sum += t1 - t0;
    s.max = Math.max(s.max, t1 - t0);
    s.first = Math.min(s.first, t0);
    s.last = Math.max(s.last, t1);
    this.d.set(name, s);
  }

  /** Times an async call under `name` (the call itself when off). */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    if (!this.enabled) return fn();
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.end(name, t0);
    }
  }

  /** Remembers when `key` happened (first time only), for `seen`. */
  mark(key: string): void {
    if (this.enabled && !this.marks.has(key)) this.marks.set(key, performance.now());
  }

  /** Closes a mark: records mark → now under `name`. */
  seen(name: string, key: string): void {
    if (!this.enabled) return;
    const t0 = this.marks.get(key);
    if (t0 === undefined) return;
    this.marks.delete(key);
    this.end(name, t0);
  }

  snapshot(): Record<string, SpanStats> {
    const out: Record<string, SpanStats> = {};
    const r = (x: number) => Number(x.toFixed(2));
    for (const [k, s] of [...this.d].sort(([a], [b]) => a.localeCompare(b))) {
      out[k] = { count: s.n, totalMs: r(s.sum), meanMs: r(s.sum / s.n), maxMs: r(s.max), wallMs: r(s.last - s.first) };
    }
    return out;
  }
}

export const spans = new Spans();
