// A work queue with client-go's guarantees: a key waits in the queue at most once (dedup), is handed to at most one
// worker at a time (a key added while it is processed is queued again when `done` is called), retries back off
// exponentially per key, and `addAfter` requeues later (the earliest pending time wins). Delays are clamped to the
// 32-bit timer limit (timers.ts): a longer requeue fires at the limit and the reconcile looks again.
// Two lanes: a key added `soon` (a change of an object's children: its pods started) is handed out before the keys of
// the plain lane (new objects, their own writes, resyncs), at most SOON_IN_A_ROW in a row while the plain lane waits.
// With a hundred jobs created at once, a job whose pod runs is written Running within a reconcile or two instead of
// behind every job not yet started (controller-runtime's priority queue does the same for its initial list).
import { clampTimerMs } from './timers.js';
import { spans } from './spans.js';

export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, clampTimerMs(ms));
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  /** First retry delay of a failing key. */
  baseDelayMs?: number;
  /** Longest retry delay. */
  maxDelayMs?: number;
  timers?: Timers;
}

/** Delay of the n-th consecutive failure (n ≥ 1): base·2^(n−1), capped. Pure, exported for tests. */
export function backoffDelay(failures: number, baseMs: number, maxMs: number): number {
  if (failures < 1) return 0;
  const exp = Math.min(failures - 1, 52);
  return Math.min(maxMs, baseMs * 2 ** exp);
}

/** Keys of the soon lane handed out in a row while plain keys wait, before one plain key goes. */
export const SOON_IN_A_ROW = 4;

export class WorkQueue {
  private readonly queue: string[] = [];
  /** The soon lane (see above). */
  private readonly soon: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  /** Dirty keys to be queued in the soon lane when done. */
  private readonly dirtySoon = new Set<string>();
  private soonInARow = 0;
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; handle: unknown; soon: boolean }>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  /** When each queued key was queued, only while timing spans are on (queue.wait: the bench's breakdown). */
  private readonly queuedAt = new Map<string, number>();
  private shuttingDown = false;
  private readonly base: number;
  private readonly max: number;
  private readonly timers: Timers;

  constructor(opts: WorkQueueOptions = {}) {
    this.base = opts.baseDelayMs ?? 5;
    this.max = opts.maxDelayMs ?? 300_000;
    this.timers = opts.timers ?? realTimers;
    if (!(this.base > 0) || !(this.max >= this.base)) {
      throw new Error(`WorkQueue: need 0 < baseDelayMs <= maxDelayMs, got ${this.base} and ${this.max}`);
    }
  }

  /** Queue `key` now (`soon`: in the soon lane, moved there if it waits in the plain one). No-op if already queued;
   *  if it is being processed it is queued again after `done`. */
  add(key: string, soon = false): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      if (soon) this.dirtySoon.add(key);
      return;
    }
    if (this.queued.has(key)) {
      const i = soon ? this.queue.indexOf(key) : -1;
      if (i >= 0) {
        this.queue.splice(i, 1);
        this.soon.push(key);
      }
      return;
    }
    this.queued.add(key);
    const w = this.waiters.shift();
    if (w) {
      this.queued.delete(key);
      this.processing.add(key);
      w(key);
    } else {
      (soon ? this.soon : this.queue).push(key);
      if (spans.enabled) this.queuedAt.set(key, performance.now());
    }
  }

  /** Queue `key` after `ms`; an earlier pending time for the same key wins (and is soon if either was). */
  addAfter(key: string, requestedMs: number, soon = false): void {
    if (this.shuttingDown) return;
    const ms = clampTimerMs(requestedMs);
    if (ms <= 0) return this.add(key, soon);
    const at = this.timers.now() + ms;
    const prev = this.delayed.get(key);
    if (prev && prev.at <= at) {
      prev.soon ||= soon;
      return;
    }
    if (prev) this.timers.clearTimeout(prev.handle);
    const entry = { at, handle: undefined as unknown, soon: soon || !!prev?.soon };
    entry.handle = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key, entry.soon);
    }, ms);
    this.delayed.set(key, entry);
  }

  /** Retry `key` after its per-key exponential backoff; returns the delay chosen. */
  addRateLimited(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const d = backoffDelay(n, this.base, this.max);
    this.addAfter(key, d);
    return d;
  }

  /** Reset the backoff of `key` (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Next key to process, waiting if none; undefined once shut down. The caller must call `done(key)`. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const fromSoon = this.soon.length > 0 && (this.soonInARow < SOON_IN_A_ROW || this.queue.length === 0);
    const key = fromSoon ? this.soon.shift() : this.queue.shift();
    this.soonInARow = fromSoon ? this.soonInARow + 1 : 0;
    if (key !== undefined) {
      const t = this.queuedAt.get(key);
      if (t !== undefined) {
        spans.end('queue.wait', t);
        this.queuedAt.delete(key);
      }
      this.queued.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    const soon = this.dirtySoon.delete(key);
    if (this.dirty.delete(key)) this.add(key, soon);
  }

  len(): number {
    return this.queue.length + this.soon.length;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { handle } of this.delayed.values()) this.timers.clearTimeout(handle);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
