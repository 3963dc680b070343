// The controller loop: N workers take keys from the work queue and run `reconcile` under a deadline. The contract is
// controller-runtime's: a thrown error retries with per-key backoff, a TerminalError stops retrying, a result with
// `requeueAfterMs` looks again later, success resets the backoff.
import { clampTimerMs } from './timers.js';
import { WorkQueue, type WorkQueueOptions } from './workqueue.js';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export type Reconcile = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

/** An error that retrying cannot fix (the spec is wrong); logged, not retried. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export class ReconcileTimeoutError extends Error {
  override readonly name = 'ReconcileTimeoutError';
}

export interface ControllerHooks {
  onResult?(key: string, outcome: 'success' | 'error' | 'terminal' | 'timeout', seconds: number, err?: unknown): void;
}

export interface ControllerOptions extends WorkQueueOptions {
  name: string;
  workers?: number;
  /** Per-reconcile deadline; the signal aborts and the key is retried with backoff. */
  timeoutMs?: number;
  hooks?: ControllerHooks;
}

export class Controller {
  readonly queue: WorkQueue;
  private readonly workers: number;
  private readonly timeoutMs: number;
  private running: Promise<void>[] = [];

  constructor(
    readonly opts: ControllerOptions,
    private readonly reconcile: Reconcile,
  ) {
    this.queue = new WorkQueue(opts);
    this.workers = opts.workers ?? 4;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  start(): void {
    for (let i = 0; i < this.workers; i++) this.running.push(this.worker());
  }

  /** Stops taking keys and waits for the reconciles in flight. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.runOne(key);
    }
  }

  /** One reconcile of `key`, exported for tests through the controller instance. */
  async runOne(key: string): Promise<void> {
    const started = performance.now();
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort(new ReconcileTimeoutError(`${this.opts.name}: reconcile of ${key} exceeded ${this.timeoutMs} ms`));
        reject(ac.signal.reason);
      }, clampTimerMs(this.timeoutMs));
    });
    const secs = () => (performance.now() - started) / 1000;
    const work = this.reconcile(key, ac.signal);
    try {
      const res = await Promise.race([work, deadline]);
      this.queue.forget(key);
      if (res && res.requeueAfterMs !== undefined) this.queue.addAfter(key, res.requeueAfterMs);
      this.opts.hooks?.onResult?.(key, 'success', secs());
    } catch (err) {
      if (err instanceof TerminalError) {
        this.queue.forget(key);
        this.opts.hooks?.onResult?.(key, 'terminal', secs(), err);
      } else {
        const timedOut = err instanceof ReconcileTimeoutError;
        // The key stays "processing" until the aborted reconcile really ends: never two at once for one key.
        if (timedOut) await work.catch(() => undefined);
        this.queue.addRateLimited(key);
        this.opts.hooks?.onResult?.(key, timedOut ? 'timeout' : 'error', secs(), err);
      }
    } finally {
      clearTimeout(timer);
      this.queue.done(key);
    }
  }
}
