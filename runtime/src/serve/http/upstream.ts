// Opening a generation on a decode replica, with fail-over. Replicas are tried least-in-flight first, each at most
// once per request; a replica is skipped when it answers 429 (full), cannot be reached, or breaks off before its
// first token — nothing has reached the client yet, so trying another loses nothing. Only after the first token is
// the request bound to its replica. When every replica is full the answer is 429 with the smallest Retry-After.
import type { IncomingMessage } from 'node:http';
import type { LogprobRequest, SamplingParams } from '../engine/types.js';
import { ApiError, overloaded, unavailable, upstreamFailed } from './errors.js';
import { ConnectError, errorOf, ndjson, postJson, retryAfterOf } from './client.js';
import { GENERATE_PATH, type GenerateEvent } from './internal.js';
import type { Balancer } from './balancer.js';
import type { RouteTable } from './routes.js';
import type { Log } from './server.js';

export interface OpenedStream {
  url: string;
  first: GenerateEvent;
  rest: AsyncGenerator<unknown>;
  /** Ends the upstream request (if still open) and releases the replica's in-flight slot. Idempotent. */
  close(): void;
}

export interface DispatchOptions {
  table: RouteTable;
  balancer: Balancer;
  id: string;
  promptIds: number[];
  params: SamplingParams;
  logprobs?: LogprobRequest;
  signal: AbortSignal;
  idleTimeoutMs: number;
  log: Log;
}

export function isGenerateEvent(v: unknown): v is GenerateEvent {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.token === 'number' || Array.isArray(o.prompt) || typeof o.finish === 'string' || (typeof o.error === 'object' && o.error !== null);
}

export async function openGeneration(o: DispatchOptions): Promise<OpenedStream> {
  const { table, balancer, log } = o;
  if (table.decode.length === 0) throw unavailable('no decode replica is ready yet');
  const tried = new Set<string>();
  let retryAfter = Infinity;
  let full = 0;
  let lastError = '';
  for (let decode = balancer.pick(table.decode, tried); decode; decode = balancer.pick(table.decode, tried)) {
    tried.add(decode.url);
    const prefill = balancer.pick(table.prefill);
    const releaseDecode = balancer.acquire(decode.url);
    const releasePrefill = prefill ? balancer.acquire(prefill.url) : () => {};
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(o.signal.reason);
    o.signal.addEventListener('abort', onAbort, { once: true });
    const close = (): void => {
      o.signal.removeEventListener('abort', onAbort);
      ac.abort(new Error('closed by the router'));
      releasePrefill();
      releaseDecode();
    };
    const body = { id: o.id, promptIds: o.promptIds, params: o.params, ...(o.logprobs ? { logprobs: o.logprobs } : {}), ...(prefill ? { prefillUrl: prefill.url } : {}) };
    let res: IncomingMessage;
    try {
      res = await postJson(`${decode.url}${GENERATE_PATH}`, body, { signal: ac.signal, idleTimeoutMs: o.idleTimeoutMs });
    } catch (e) {
      close();
      if (o.signal.aborted) throw e;
      if (e instanceof ConnectError) balancer.markDown(decode.url);
      lastError = (e as Error).message;
      log({ level: 'warn', msg: 'decode replica failed before answering; trying another', id: o.id, url: decode.url, error: lastError });
      continue;
    }
    if (res.statusCode !== 200) {
      const err = await errorOf(res).catch(() => undefined);
      close();
      if (res.statusCode === 429) {
        full++;
        retryAfter = Math.min(retryAfter, retryAfterOf(res));
        continue;
      }
      // The client's mistake: another replica would say the same.
      if (res.statusCode === 400) throw new ApiError(400, err?.message ?? 'bad request', err?.type ?? 'invalid_request_error', err?.param ?? null, err?.code ?? 'invalid_value');
      lastError = `${decode.url} answered ${res.statusCode}: ${err?.message ?? ''}`;
      log({ level: 'warn', msg: 'decode replica failed; trying another', id: o.id, url: decode.url, status: res.statusCode, error: err?.message });
      continue;
    }
    const rest = ndjson(res);
    try {
      const first = await rest.next();
      if (first.done || !isGenerateEvent(first.value)) throw new Error('the stream ended before its first token');
      releasePrefill();
      balancer.markUp(decode.url);
      return { url: decode.url, first: first.value, rest, close };
    } catch (e) {
      close();
      if (o.signal.aborted) throw e;
      balancer.markDown(decode.url);
      lastError = `${decode.url}: ${(e as Error).message}`;
      log({ level: 'warn', msg: 'decode replica broke off before the first token; trying another', id: o.id, url: decode.url, error: (e as Error).message });
    }
  }
  if (full > 0 && full === tried.size) throw overloaded(retryAfter, `all ${full} decode replicas are at capacity; retry later`);
  if (full > 0) throw overloaded(retryAfter, `decode replicas are at capacity or failing (${lastError}); retry later`);
  throw upstreamFailed(`no decode replica could serve the request (tried ${tried.size}): ${lastError}`);
}
