// Pure bookkeeping of the children a controller wrote and its informer cache does not show yet, in the manner of
// client-go's ControllerExpectations (UIDTrackingControllerExpectations: tracked by name). A cache lags behind the
// API server, so a reconcile that just created a pod may not find it, and one that just deleted a pod may still see
// it. Per owner key, each expected child is a creation (on its way until the cache has shown it) or a deletion (going
// away, by this process, not by someone else); an expectation lapses after a TTL (the longest a cache plausibly lags),
// or, for a child absent from the cache, is dropped once the TTL has passed.

/** How long a child this process wrote may be missing from (or still be in) its cache before that means something. */
export const CACHE_LAG_MS = 60_000;

interface Expected<D> {
  op: 'create' | 'delete';
  /** When the expectation started (ms). */
  at: number;
  /** The cache has shown the child since (creations), or no longer shows it (deletions). */
  observed: boolean;
  data?: D;
}

interface Ledger<D> {
  /** What the ledger is for (MTJ: the attempt); a different epoch starts a fresh ledger. */
  epoch?: unknown;
  children: Map<string, Expected<D>>;
}

export class Expectations<D = undefined> {
  private readonly owners = new Map<string, Ledger<D>>();

  constructor(
    private readonly ttlMs = CACHE_LAG_MS,
    private readonly clock: () => number = Date.now,
  ) {}

  private ledger(owner: string): Ledger<D> {
    let l = this.owners.get(owner);
    if (!l) this.owners.set(owner, (l = { children: new Map() }));
    return l;
  }

  private expired(e: Expected<D>, now = this.clock()): boolean {
    return now - e.at >= this.ttlMs;
  }

  /** This process created `child` of `owner` (a new creation of a name replaces what was expected of it before). */
  expectCreation(owner: string, child: string, data?: D, at = this.clock()): void {
    this.ledger(owner).children.set(child, { op: 'create', at, observed: false, ...(data !== undefined ? { data } : {}) });
  }

  /** This process deleted `child` of `owner` (replaces an expected creation of it). */
  expectDeletion(owner: string, child: string, at = this.clock()): void {
    this.ledger(owner).children.set(child, { op: 'delete', at, observed: false });
  }

  /** Whether `owner`'s ledger is the one for `epoch`. */
  holds(owner: string, epoch: unknown): boolean {
    const l = this.owners.get(owner);
    return !!l && l.epoch === epoch;
  }

  /** A fresh ledger for `owner` and `epoch` that expects every one of `children`, all from `at` (a gang released then). */
  expectCreations(owner: string, children: Iterable<string>, epoch: unknown, at = this.clock()): void {
    const l: Ledger<D> = { epoch, children: new Map() };
    for (const c of children) l.children.set(c, { op: 'create', at, observed: false });
    this.owners.set(owner, l);
  }

  /** What the cache shows of `owner`'s children now: creations shown are observed, deletions no longer shown are;
   *  expectations of children absent after the TTL are dropped. */
  observe(owner: string, present: Iterable<string>): void {
    const l = this.owners.get(owner);
    if (!l) return;
    const now = this.clock();
    const shown = new Set(present);
    for (const [c, e] of l.children) {
      const here = shown.has(c);
      if (e.op === 'create' && here) e.observed = true;
      if (e.op === 'delete' && !here) e.observed = true;
      if (!here && this.expired(e, now)) l.children.delete(c);
    }
  }

  /** Created by this process, not shown by the cache yet, within the TTL: on its way, not missing. */
  creationPending(owner: string, child: string): boolean {
    const e = this.owners.get(owner)?.children.get(child);
    return !!e && e.op === 'create' && !e.observed && !this.expired(e);
  }

  /** Deleted by this process (and still in the cache, or gone for less than the TTL): going away, not broken. */
  deletionExpected(owner: string, child: string): boolean {
    return this.owners.get(owner)?.children.get(child)?.op === 'delete';
  }

  /** The children of `owner` whose creation is pending, and those this process deleted. */
  pendingOf(owner: string): { creating: Set<string>; deleting: Set<string> } {
    const creating = new Set<string>();
    const deleting = new Set<string>();
    for (const [c, e] of this.owners.get(owner)?.children ?? []) {
      if (e.op === 'delete') deleting.add(c);
      else if (!e.observed && !this.expired(e)) creating.add(c);
    }
    return { creating, deleting };
  }

  /** client-go's SatisfiedExpectations: every creation shown and every deletion gone, or the TTL passed. */
  satisfied(owner: string): boolean {
    const now = this.clock();
    for (const e of this.owners.get(owner)?.children.values() ?? []) if (!e.observed && !this.expired(e, now)) return false;
    return true;
  }

  /** Every owner's creations that `present` says the cache does not show, within the TTL, with their data (GPUs a
   *  placement must not offer twice). Creations absent after the TTL are dropped. */
  inFlight(present: (child: string, data: D) => boolean): D[] {
    const now = this.clock();
    const out: D[] = [];
    for (const l of this.owners.values()) {
      for (const [c, e] of l.children) {
        if (e.op !== 'create') continue;
        const here = present(c, e.data as D);
        const old = this.expired(e, now);
        if (old && !here) l.children.delete(c);
        if (here || old) continue;
        out.push(e.data as D);
      }
    }
    return out;
  }

  /** The owner is gone: nothing more is expected of it. */
  forget(owner: string): void {
    this.owners.delete(owner);
  }
}
