// Polling with a deadline instead of sleeps: `await eventually(() => check(), { timeoutMs, what })` retries `check`
// until it returns a value other than undefined/false (or stops throwing) and fails with the last reason otherwise.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the failure message: "all pods Running". */
  what?: string;
}

export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, opts: PollOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last = 'never checked';
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = `got ${JSON.stringify(v)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'a condition'}: ${last}`);
    await sleep(intervalMs);
  }
}
