// Least-in-flight replica choice. Ties rotate so equal replicas share the load. A replica that refused a connection
// sits out a short cool-down so later requests do not pay the failed attempt again; if every replica is cooling
// down they are tried anyway (the cool-down is a preference, never the reason a request fails).
import type { RouteEntry } from './routes.js';

export class Balancer {
  private readonly inFlight = new Map<string, number>();
  private readonly downUntil = new Map<string, number>();
  private turn = 0;

  constructor(private readonly coolDownMs = 2_000) {}

  /** The best replica not in `exclude`, or undefined when none is left. */
  pick(entries: readonly RouteEntry[], exclude: ReadonlySet<string> = new Set()): RouteEntry | undefined {
    const now = Date.now();
    const open = entries.filter((e) => !exclude.has(e.url));
    const up = open.filter((e) => (this.downUntil.get(e.url) ?? 0) <= now);
    const pool = up.length ? up : open;
    if (pool.length === 0) return undefined;
    let best = Infinity;
    for (const e of pool) best = Math.min(best, this.inFlight.get(e.url) ?? 0);
    const ties = pool.filter((e) => (this.inFlight.get(e.url) ?? 0) === best);
    return ties[this.turn++ % ties.length];
  }

  /** Counts a request on `url` until the returned release is called (idempotent). */
  acquire(url: string): () => void {
    this.inFlight.set(url, (this.inFlight.get(url) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.inFlight.get(url) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(url);
      else this.inFlight.set(url, n);
    };
  }

  markDown(url: string): void {
    this.downUntil.set(url, Date.now() + this.coolDownMs);
  }

  markUp(url: string): void {
    this.downUntil.delete(url);
  }

  load(url: string): number {
    return this.inFlight.get(url) ?? 0;
  }
}
