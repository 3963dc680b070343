// Failure detection (I/O code). Every rank heartbeats the store and watches it for an abort; the store server
// declares a rank lost when its connection closes without a goodbye or its heartbeats stop. A rank whose
// collective fails reports the error, waits briefly for the store to name the lost rank, and exits. So when any
// rank dies or stalls, every rank exits non-zero within about stallMs + graceMs, naming the lost rank.
import type { StoreClient } from './rendezvous-client.js';

/** Exit status of a rank that stops because the gang broke: the operator restarts the gang. */
export const EXIT_PEER_LOST = 75;

export interface WatchdogOptions {
  rank: number;
  /** Heartbeat period; keep it well below the store's stallMs. */
  heartbeatMs: number;
  /** After a local error, how long to wait for the store to name the lost rank. */
  graceMs: number;
  /** What to do with the final message; the default writes it to stderr and exits with EXIT_PEER_LOST. */
  onFatal?: (message: string) => void;
}

export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  private abortMessage: string | undefined;
  private readonly abortWaiters: Array<(m: string) => void> = [];

  constructor(private readonly client: StoreClient, private readonly o: WatchdogOptions) {
    client.watch().then((m) => this.aborted(m), (e: Error) => this.aborted(e.message));
    client.onClose((e) => this.aborted(e.message));
    this.timer = setInterval(() => {
      this.client.ping().catch(() => undefined);
    }, o.heartbeatMs);
    this.timer.unref();
  }

  private aborted(message: string): void {
    if (this.done) return;
    this.abortMessage ??= message;
    if (this.abortWaiters.length) {
      for (const w of this.abortWaiters.splice(0)) w(message);
      return;
    }
    this.fatal(`rank ${this.o.rank}: job aborted: ${message}`);
  }

  private fatal(message: string): void {
    if (this.done) return;
    this.stop();
    (this.o.onFatal ?? defaultFatal)(message);
  }

  /**
   * A local operation failed (a peer closed its connection, a timeout): wait up to graceMs for the store's
   * verdict on which rank was lost (it sees a dead rank's lifeline close at once), else tell the others our own
   * error; then stop.
   */
  async fail(err: Error): Promise<void> {
    if (this.done) return;
    const local = `rank ${this.o.rank}: ${err.message}`;
    const verdict = this.abortMessage ?? await new Promise<string | undefined>((resolve) => {
      const t = setTimeout(() => resolve(undefined), this.o.graceMs);
      this.abortWaiters.push((m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
    if (verdict === undefined) await this.client.abort(local).catch(() => undefined);
    this.fatal(verdict !== undefined ? `job aborted: ${verdict} (here: ${local})` : local);
  }

  /** Stops heartbeating (a normal end). */
  stop(): void {
    this.done = true;
    if (this.timer) clearInterval(this.timer);
  }
}

function defaultFatal(message: string): void {
  process.stderr.write(`${message}\n`);
  // Gloo's threads may still be blocked on a dead peer: exit without waiting for them.
  process.exit(EXIT_PEER_LOST);
}
