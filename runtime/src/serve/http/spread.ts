// Sequences spread over the pods of a data-parallel decode replica. The router knows one URL per replica (its leader,
// pod 0), so the leader forwards each new generate request to the pod with the fewest requests in flight (itself
// included; ties to the lowest index) and relays the answer byte for byte. Every request of the replica passes
// through the leader, so its counts are exact without asking the pods. The pod that owns a sequence pulls its
// hand-off from prefill itself (the request carries prefillUrl).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { postJson } from './client.js';
import { unavailable } from './errors.js';

export class PodSpread {
  private readonly inFlight: number[];

  /**
   * urls: every pod's base URL in rank order; `self`: this pod's index (its requests are served here); `onRelay`:
   * called when a sequence goes to another pod (the leader's engine wakes the idle replica's lockstep for it).
   */
  constructor(readonly urls: string[], readonly self = 0, private readonly onRelay: () => void = () => {}) {
    if (urls.length < 1 || self < 0 || self >= urls.length) throw new Error(`spread: pod ${self} is not among ${urls.length} pods`);
    this.inFlight = urls.map(() => 0);
  }

  /** The pod that takes the next sequence; call the returned release when its answer has ended. */
  pick(): { pod: number; release: () => void } {
    let best = 0;
    for (let p = 1; p < this.inFlight.length; p++) if (this.inFlight[p] < this.inFlight[best]) best = p;
    this.inFlight[best]++;
    if (best !== this.self) this.onRelay();
    let done = false;
    return { pod: best, release: () => { if (!done) { done = true; this.inFlight[best]--; } } };
  }

  counts(): number[] {
    return [...this.inFlight];
  }
}

/** Relays `body` to pod `url`'s `path` and its answer (status, headers, streamed body) to `res`. */
export async function relay(url: string, path: string, body: unknown, res: ServerResponse, signal: AbortSignal, idleTimeoutMs: number): Promise<void> {
  let up: IncomingMessage;
  try {
    up = await postJson(`${url}${path}`, body, { signal, idleTimeoutMs });
  } catch (e) {
    if (signal.aborted) throw e;
    // The replica's own pod is gone: the replica is failing (its lockstep ends); the router retries elsewhere.
    throw unavailable(`decode replica pod ${url} cannot be reached: ${(e as Error).message}`);
  }
  const headers: Record<string, string> = {};
  for (const h of ['content-type', 'cache-control', 'retry-after']) {
    const v = up.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  res.writeHead(up.statusCode ?? 502, headers);
  try {
    for await (const chunk of up) res.write(chunk as Buffer);
  } catch (e) {
    if (signal.aborted) return void res.destroy();
    // The pod broke off mid-stream: end the NDJSON answer with the internal protocol's error line.
    if (up.statusCode === 200) res.write(`\n${JSON.stringify({ error: { message: `decode replica pod ${url} broke off: ${(e as Error).message}`, type: 'server_error' } })}\n`);
  }
  res.end();
}
