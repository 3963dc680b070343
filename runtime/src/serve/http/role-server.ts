// The prefill and decode leaders' HTTP server (../README.md "Internal protocol"):
//   prefill: POST /internal/v1/prefill  → engine.prefill, answers the encoded KV hand-off;
//   decode:  POST /internal/v1/generate → pulls the hand-off from prefillUrl (or prefills here), streams NDJSON tokens
//            (with their log-probabilities, and first the prompt's, when the request asks: they travel in the hand-off).
// The response head waits for the first token, so admission failures (429) and bad requests (400) are plain HTTP
// statuses; after the head, a failure is a final {"error"} line. A client that disconnects aborts its engine request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RuntimeModelConfig } from '../../model/config.js';
import type { Handoff, ServeEngine } from '../engine/types.js';
import { readJson, DEFAULT_BODY_LIMIT } from './body.js';
import { ApiError, overloaded } from './errors.js';
import { engineError } from './engine-errors.js';
import { GENERATE_PATH, PREFILL_PATH, parseInternalRequest, type GenerateEvent, type InternalRequest } from './internal.js';
import { errorOf, postJson, readAll, retryAfterOf } from './client.js';
import { RequestTimer, ServeMetrics } from './metrics.js';
import { HttpServer, type Handler, type Log } from './server.js';
import { relay, type PodSpread } from './spread.js';

export interface HandoffCodec {
  encode(h: Handoff): Uint8Array;
  decode(bytes: Uint8Array, c: RuntimeModelConfig): Handoff;
}

export interface RoleServerOptions {
  role: 'prefill' | 'decode';
  engine: ServeEngine;
  codec: HandoffCodec;
  log: Log;
  metrics?: ServeMetrics;
  bodyLimit?: number;
  /** Socket inactivity limit when decode pulls a hand-off from prefill. */
  prefillTimeoutMs?: number;
  /** Decode leader of a data-parallel replica: new sequences go to the pod with the fewest in flight (spread.ts). */
  spread?: () => PodSpread | undefined;
}

export function createRoleServer(o: RoleServerOptions): HttpServer {
  const metrics = o.metrics ?? ServeMetrics.forEngine(o.role, o.engine);
  const limit = o.bodyLimit ?? DEFAULT_BODY_LIMIT * 16;
  const prefillTimeoutMs = o.prefillTimeoutMs ?? 120_000;
  const { engine, log } = o;

  async function prefill(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const r = parseInternalRequest(await readJson(req, limit), false);
    metrics.promptTokens.inc(r.promptIds.length);
    const timer = new RequestTimer(metrics);
    try {
      const h = await engine.prefill({ id: r.id, promptIds: Int32Array.from(r.promptIds), params: r.params, ...(r.logprobs ? { logprobs: r.logprobs } : {}), ...(r.mtp ? { mtp: true } : {}) }, signal);
      timer.token();
      const bytes = o.codec.encode(h);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength });
      res.end(bytes);
      timer.done();
    } catch (e) {
      if (signal.aborted) return void res.destroy();
      throw engineError(e);
    }
  }

  /** The KV hand-off from a prefill leader; undefined when it cannot be reached (decode then prefills locally). */
  async function pullHandoff(r: InternalRequest, signal: AbortSignal): Promise<Handoff | undefined> {
    const url = `${r.prefillUrl}${PREFILL_PATH}`;
    let res: IncomingMessage;
    try {
      // A drafting decode pod asks for the MTP drafter's state too (a prefill pod of an older runtime leaves it out,
      // and the sequence then decodes one token per step).
      res = await postJson(url, { id: r.id, promptIds: r.promptIds, params: r.params, ...(r.logprobs ? { logprobs: r.logprobs } : {}), ...(engine.speculative ? { mtp: true } : {}) }, { signal, idleTimeoutMs: prefillTimeoutMs });
    } catch (e) {
      if (signal.aborted) throw e;
      log({ level: 'warn', msg: 'prefill replica unreachable; prefilling locally', id: r.id, url, error: (e as Error).message });
      return undefined;
    }
    if (res.statusCode === 200) {
      try {
        const h = o.codec.decode(new Uint8Array(await readAll(res)), engine.config);
        // A prefill pod of an older runtime ignores logprobs; its hand-off cannot serve this request.
        if (r.logprobs && (!h.firstLogprob || (r.logprobs.prompt && !h.promptLogprobs))) throw new Error('the hand-off carries no log-probabilities (prefill replica of an older runtime?)');
        return h;
      } catch (e) {
        if (signal.aborted) throw e;
        log({ level: 'warn', msg: 'hand-off from prefill failed; prefilling locally', id: r.id, url, error: (e as Error).message });
        return undefined;
      }
    }
    const err = await errorOf(res);
    // Prefill full: so is this pairing; the router tries another one.
    if (res.statusCode === 429) throw overloaded(retryAfterOf(res), `prefill replica is at capacity: ${err?.message ?? ''}`.trim());
    if (res.statusCode === 400) throw new ApiError(400, err?.message ?? 'prefill refused the request', 'invalid_request_error', err?.param ?? null, err?.code ?? 'invalid_value');
    log({ level: 'warn', msg: 'prefill replica failed; prefilling locally', id: r.id, url, status: res.statusCode, error: err?.message });
    return undefined;
  }

  async function generate(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const body = await readJson(req, limit);
    const r = parseInternalRequest(body, true);
    const spread = o.spread?.();
    const to = spread?.pick();
    try {
      if (spread && to && to.pod !== spread.self) return await relay(spread.urls[to.pod], GENERATE_PATH, body, res, signal, prefillTimeoutMs);
      return await generateHere(r, res, signal);
    } finally {
      to?.release();
    }
  }

  async function generateHere(r: InternalRequest, res: ServerResponse, signal: AbortSignal): Promise<void> {
    metrics.promptTokens.inc(r.promptIds.length);
    const timer = new RequestTimer(metrics);
    let headSent = false;
    const line = (ev: GenerateEvent): void => {
      if (!headSent) {
        res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
        headSent = true;
      }
      res.write(`${JSON.stringify(ev)}\n`);
    };
    try {
      const handoff = r.prefillUrl ? await pullHandoff(r, signal) : undefined;
      const req = { id: r.id, promptIds: Int32Array.from(r.promptIds), params: r.params, handoff, ...(r.logprobs ? { logprobs: r.logprobs } : {}) };
      const result = await engine.generate(req, (token, logprob) => {
        timer.token();
        line(logprob ? { token, logprob } : { token });
      }, signal, (prompt) => line({ prompt }));
      line({ finish: result.finish, usage: result.usage });
      res.end();
      timer.done();
    } catch (e) {
      if (signal.aborted) return void res.destroy();
      const err = e instanceof ApiError ? e : engineError(e);
      if (!headSent) throw err;
      log({ level: 'error', msg: 'generation failed mid-stream', id: r.id, error: err.message });
      line({ error: { message: err.message, type: err.type } });
      res.end();
    }
  }

  const routes: Record<string, Handler> = o.role === 'prefill' ? { [`POST ${PREFILL_PATH}`]: prefill } : { [`POST ${GENERATE_PATH}`]: generate };
  return new HttpServer({ metrics, routes, notReady: () => undefined, log });
}
