// A periodic task that never overlaps itself and logs failures once per change of message (a poll that keeps
// failing the same way does not flood the log; the first success after failures is logged too).
import type { Log } from './server.js';

export class Poller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastError: string | undefined;
  private stopped = false;

  constructor(private readonly what: string, private readonly intervalMs: number, private readonly task: () => Promise<void>, private readonly log: Log) {}

  /** Runs the task now and then every interval; resolves after the first run. */
  async start(): Promise<void> {
    await this.tick();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    this.running = this.task().then(() => {
      if (this.lastError !== undefined) this.log({ level: 'info', msg: `${this.what}: recovered` });
      this.lastError = undefined;
    }, (e: unknown) => {
      const msg = (e as Error)?.message ?? String(e);
      if (msg !== this.lastError) this.log({ level: 'warn', msg: `${this.what} failed`, error: msg });
      this.lastError = msg;
    });
    await this.running;
    this.running = undefined;
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.intervalMs);
  }

  /** Runs the task once more now (e.g. a final load report before exit). */
  async runNow(): Promise<void> {
    await this.running;
    await this.task();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
