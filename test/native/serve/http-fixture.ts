// Shared pieces of the serving HTTP tests: the real Engine on a tiny random model with the byte tokenizer, role
// servers and a router on loopback, and small clients for JSON, SSE and metrics.
import { request } from 'node:http';
import { modelConfig, type RuntimeModelConfig } from '../../../runtime/src/model/config.js';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { buildParams, step } from '../../../runtime/src/model/transformer.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc32 } from '../../../runtime/src/model/tensor.js';
import { precisionCtx } from '../../../runtime/src/model/precision.js';
import { decodeHandoff, encodeHandoff } from '../../../runtime/src/serve/engine/handoff.js';
import type { EngineOptions, ServeEngine } from '../../../runtime/src/serve/engine/types.js';
import { createRoleServer } from '../../../runtime/src/serve/http/role-server.js';
import { createRouter, type RouterOptions } from '../../../runtime/src/serve/http/router.js';
import { fixedRoutes, type RouteTable } from '../../../runtime/src/serve/http/routes.js';
import type { HttpServer, Log } from '../../../runtime/src/serve/http/server.js';

export const MODEL = 'tiny-test';

/** deepseek-v3-tiny shrunk so a token takes well under a millisecond; vocabulary 256 for the byte tokenizer. */
export const tinyConfig: RuntimeModelConfig = modelConfig('deepseek-v3-tiny', {
  vocab_size: 256, hidden_size: 32, intermediate_size: 48, moe_intermediate_size: 16, num_hidden_layers: 2, first_k_dense_replace: 1,
  num_attention_heads: 2, q_lora_rank: 0, kv_lora_rank: 16, qk_nope_head_dim: 8, qk_rope_head_dim: 4, v_head_dim: 8,
  n_routed_experts: 8, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 4, topk_group: 2, num_nextn_predict_layers: 0,
});

export const quiet: Log = () => {};

export function tinyEngine(opts: Partial<EngineOptions> = {}, seed = 7): Engine {
  return Engine.random(tinyConfig, byteTokenizer, { maxBatch: 8, maxQueue: 64, maxSequenceLength: 512, precision: 'fp32', ...opts }, seed);
}

/**
 * The single-process reference for tinyEngine(seed)'s model: model/transformer.ts step() over the whole sequence, its
 * logits as float64 log-softmax at every position ([position][token]: the distribution of the next token).
 */
export function referenceLogprobs(ids: ArrayLike<number>, seed = 7): Float64Array[] {
  const V = tinyConfig.vocab_size;
  const P = referenceParams.get(seed) ?? buildParams(tinyConfig, alloc32, new Rng(seed));
  referenceParams.set(seed, P);
  const S = ids.length;
  const window = new Int32Array(S + 1 + tinyConfig.num_nextn_predict_layers);
  window.set(Array.from(ids));
  const logits = step(precisionCtx('fp32'), P, tinyConfig, window, 1, S, { alpha: 0, mtpLambda: 0, backward: false }).logits as Float32Array;
  return Array.from({ length: S }, (_, p) => {
    const row = logits.subarray(p * V, (p + 1) * V);
    let m = -Infinity;
    for (const x of row) m = Math.max(m, x);
    let z = 0;
    for (const x of row) z += Math.exp(x - m);
    const lse = m + Math.log(z);
    return Float64Array.from(row, (x) => x - lse);
  });
}
const referenceParams = new Map<number, ReturnType<typeof buildParams>>();

export const codec = { encode: (h: Parameters<typeof encodeHandoff>[0]) => encodeHandoff(h), decode: decodeHandoff };

export async function roleServer(role: 'prefill' | 'decode', engine: ServeEngine, log: Log = quiet): Promise<HttpServer> {
  const s = createRoleServer({ role, engine, codec, log });
  await s.listen(0, '127.0.0.1');
  return s;
}

export interface Stack {
  router: HttpServer;
  url: string;
  prefills: HttpServer[];
  decodes: HttpServer[];
  engines: ServeEngine[];
  routes: ReturnType<typeof fixedRoutes>;
  close(): Promise<void>;
}

/** `prefill` prefill replicas, `decode` decode replicas (each its own engine, same weights) and a router. */
export async function stack(o: { prefill?: number; decode?: number; engine?: Partial<EngineOptions>; router?: Partial<RouterOptions>; wrap?: (e: ServeEngine, i: number, role: string) => ServeEngine } = {}): Promise<Stack> {
  const engines: ServeEngine[] = [];
  const make = async (role: 'prefill' | 'decode', n: number): Promise<HttpServer[]> => Promise.all(Array.from({ length: n }, (_, i) => {
    const e = tinyEngine(o.engine);
    engines.push(e);
    return roleServer(role, o.wrap ? o.wrap(e, i, role) : e);
  }));
  const prefills = await make('prefill', o.prefill ?? 0);
  const decodes = await make('decode', o.decode ?? 1);
  const table: RouteTable = { model: MODEL, prefill: prefills.map((s, i) => ({ replica: i, url: s.url() })), decode: decodes.map((s, i) => ({ replica: i, url: s.url() })) };
  const routes = fixedRoutes(table);
  const router = createRouter({ tokenizer: byteTokenizer, routes, log: quiet, idleTimeoutMs: 10_000, ...o.router });
  await router.listen(0, '127.0.0.1');
  return {
    router, url: router.url(), prefills, decodes, engines, routes,
    async close() {
      for (const s of [router, ...decodes, ...prefills]) s.kill();
      await Promise.all(engines.map((e) => e.close()));
    },
  };
}

export interface Reply { status: number; headers: Record<string, string | string[] | undefined>; text: string; json?: any }

/** One HTTP exchange; the body is read to the end (or until the server drops the connection). */
export function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request(`${url}${path}`, { method, headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      const done = (): void => {
        let json: unknown;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      };
      res.on('end', done);
      res.on('error', done);
      res.on('aborted', done);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export const post = (url: string, path: string, body: unknown): Promise<Reply> => call(url, 'POST', path, body);

/** The `data:` payloads of an SSE body, in order ('[DONE]' kept as the string). */
export function sseEvents(text: string): (any | '[DONE]')[] {
  return text.split('\n\n').filter((b) => b.trim() !== '').map((b) => {
    if (!b.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(b)}`);
    const d = b.slice(6);
    return d === '[DONE]' ? '[DONE]' : JSON.parse(d);
  });
}

/** A sample's value from Prometheus text, e.g. metric('moe_serve_time_to_first_token_seconds_count'). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const ls = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => ls.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

/** The engine with its generate observed: `onToken(count)` after each token, and each request's outcome recorded. */
export function observed(e: ServeEngine, hooks: { onToken?: (n: number) => void; outcomes?: string[] }): ServeEngine {
  return new Proxy(e, {
    get(target, prop) {
      if (prop === 'generate') {
        return (req: Parameters<ServeEngine['generate']>[0], onToken: Parameters<ServeEngine['generate']>[1], signal?: AbortSignal, onPrompt?: Parameters<ServeEngine['generate']>[3]) => {
          let n = 0;
          const p = target.generate(req, (t, lp) => { onToken(t, lp); hooks.onToken?.(++n); }, signal, onPrompt);
          p.then((r) => hooks.outcomes?.push(r.finish), (err: Error) => hooks.outcomes?.push(`rejected: ${err.message}`));
          return p;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A URL where nothing listens (a port just released). */
export async function deadUrl(): Promise<string> {
  const { createServer } = await import('node:http');
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return `http://127.0.0.1:${port}`;
}
