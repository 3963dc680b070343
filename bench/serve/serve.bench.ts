// Serving benchmark: bounded closed-loop load against in-process role servers and the router on loopback, with the
// real engine on the deepseek-v3-tiny preset (random weights, byte tokenizer). Two mixes:
//   prefill-heavy: long prompts, few tokens;   decode-heavy: short prompts, many tokens.
// Three setups per mix, fresh engines with the same seed each time:
//   direct          the peer: the same engine called in-process (engine.generate from N concurrent callers), no HTTP;
//   http            router → decode replica (decode prefills locally): direct vs http is the HTTP/router overhead;
//   http-disagg     router → decode ← prefill (KV hand-off over HTTP), the deployment shape.
// Clients stream (SSE with include_usage); TTFT = first content chunk, e2e = [DONE]; ITL = (e2e − TTFT)/(tokens − 1)
// per request (the byte tokenizer holds back incomplete UTF-8, so chunk gaps are not token gaps). Everything shares
// one Node event loop and this machine's cores with the clients: numbers are for comparing setups, not capacity.
// Writes bench/results/serve-http.json. Sizes: BENCH_SERVE_SCALE (default 1) multiplies the request counts.
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { decodeHandoff, encodeHandoff } from '../../runtime/src/serve/engine/handoff.js';
import type { EngineOptions } from '../../runtime/src/serve/engine/types.js';
import { createRoleServer } from '../../runtime/src/serve/http/role-server.js';
import { createRouter } from '../../runtime/src/serve/http/router.js';
import { fixedRoutes } from '../../runtime/src/serve/http/routes.js';
import type { HttpServer } from '../../runtime/src/serve/http/server.js';
import { nativeAvailable } from '../../runtime/src/train/precision.js';
import { repoRoot, writeResult } from '../plan/common.js';

process.env.MOE_NUM_THREADS ??= '1';
const SCALE = Number(process.env.BENCH_SERVE_SCALE ?? 1);
const config = modelConfig('deepseek-v3-tiny', { vocab_size: 256 });
const precision: EngineOptions['precision'] = nativeAvailable() ? 'fp8' : 'fp32';
const engineOpts: EngineOptions = { maxBatch: 8, maxQueue: 256, maxSequenceLength: 1024, precision };
const SEED = 11;
const MODEL = 'bench';
const corpus = readFileSync(join(repoRoot, 'examples', 'corpus', 'fables.txt'), 'latin1').replace(/[^\x20-\x7e]/g, ' ');

interface Mix { name: string; promptTokens: number; maxTokens: number; clients: number; requests: number }
const MIXES: Mix[] = [
  { name: 'prefill-heavy', promptTokens: 256, maxTokens: 4, clients: 4, requests: Math.max(4, Math.round(12 * SCALE)) },
  { name: 'decode-heavy', promptTokens: 16, maxTokens: 64, clients: 8, requests: Math.max(8, Math.round(24 * SCALE)) },
];

/** ASCII prompt i of a mix: a window of the corpus, so prompts differ and are exactly promptTokens bytes. */
const prompt = (m: Mix, i: number): string => corpus.slice((i * 977) % (corpus.length - m.promptTokens), (i * 977) % (corpus.length - m.promptTokens) + m.promptTokens);

interface Sample { ttft: number; e2e: number; tokens: number }

/** N workers take requests 0..M-1 in turn (closed loop). */
async function closedLoop(m: Mix, one: (i: number) => Promise<Sample>): Promise<{ samples: Sample[]; wall: number }> {
  let next = 0;
  const samples: Sample[] = [];
  const t0 = performance.now();
  await Promise.all(Array.from({ length: m.clients }, async () => {
    while (next < m.requests) samples.push(await one(next++));
  }));
  return { samples, wall: (performance.now() - t0) / 1000 };
}

function direct(engine: Engine, m: Mix) {
  return (i: number): Promise<Sample> => {
    const t0 = performance.now();
    let first = 0;
    let n = 0;
    return engine.generate({ id: `d${i}`, promptIds: byteTokenizer.encode(prompt(m, i)), params: { maxTokens: m.maxTokens, temperature: 0, topP: 1, seed: i, stopTokenIds: [] } }, () => {
      if (n++ === 0) first = performance.now();
    }).then(() => ({ ttft: (first - t0) / 1000, e2e: (performance.now() - t0) / 1000, tokens: n }));
  };
}

function viaHttp(url: string, m: Mix) {
  return (i: number): Promise<Sample> => new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    let buf = '';
    const body = JSON.stringify({ model: MODEL, prompt: prompt(m, i), max_tokens: m.maxTokens, temperature: 0, seed: i, stream: true, stream_options: { include_usage: true } });
    const req = request(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (first === 0 && c.includes('"text"')) first = performance.now();
        buf += c;
      });
      res.on('end', () => {
        const usage = buf.split('\n\n').filter((e) => e.startsWith('data: {')).map((e) => JSON.parse(e.slice(6))).find((e) => e.usage)?.usage;
        if (!usage || !buf.endsWith('data: [DONE]\n\n')) return reject(new Error(`incomplete stream: ${buf.slice(-200)}`));
        resolve({ ttft: ((first || performance.now()) - t0) / 1000, e2e: (performance.now() - t0) / 1000, tokens: usage.completion_tokens });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x: number): number => +(x * 1000).toFixed(1);
function summary(samples: Sample[], wall: number) {
  const tokens = samples.reduce((a, s) => a + s.tokens, 0);
  const itl = samples.filter((s) => s.tokens > 1).map((s) => (s.e2e - s.ttft) / (s.tokens - 1));
  const dist = (xs: number[]) => ({ p50: ms(pct(xs, 50)), p90: ms(pct(xs, 90)), p99: ms(pct(xs, 99)) });
  return {
    requests: samples.length, tokens, wallSeconds: +wall.toFixed(2), tokensPerSecond: +(tokens / wall).toFixed(1),
    ttftMs: dist(samples.map((s) => s.ttft)), itlMs: itl.length ? dist(itl) : null, e2eMs: dist(samples.map((s) => s.e2e)),
  };
}

const quiet = () => {};
async function setup(kind: 'direct' | 'http' | 'http-disagg', m: Mix) {
  const engines = [Engine.random(config, byteTokenizer, engineOpts, SEED)];
  if (kind === 'direct') {
    const warm = direct(engines[0], { ...m, maxTokens: 2 });
    await warm(0);
    const r = await closedLoop(m, direct(engines[0], m));
    await engines[0].close();
    return summary(r.samples, r.wall);
  }
  const servers: HttpServer[] = [];
  const codec = { encode: (h: Parameters<typeof encodeHandoff>[0]) => encodeHandoff(h), decode: decodeHandoff };
  const decode = createRoleServer({ role: 'decode', engine: engines[0], codec, log: quiet });
  await decode.listen(0, '127.0.0.1');
  servers.push(decode);
  const prefill: { replica: number; url: string }[] = [];
  if (kind === 'http-disagg') {
    engines.push(Engine.random(config, byteTokenizer, engineOpts, SEED));
    const p = createRoleServer({ role: 'prefill', engine: engines[1], codec, log: quiet });
    await p.listen(0, '127.0.0.1');
    servers.push(p);
    prefill.push({ replica: 0, url: p.url() });
  }
  const router = createRouter({ tokenizer: byteTokenizer, routes: fixedRoutes({ model: MODEL, prefill, decode: [{ replica: 0, url: decode.url() }] }), log: quiet, maxInFlight: 1024 });
  await router.listen(0, '127.0.0.1');
  servers.push(router);
  await viaHttp(router.url(), { ...m, maxTokens: 2 })(0);
  const r = await closedLoop(m, viaHttp(router.url(), m));
  for (const s of servers) await s.shutdown(1000);
  for (const e of engines) await e.close();
  return summary(r.samples, r.wall);
}

// Warm-up pass of every setup on a small mix (not recorded), so no setup pays the JIT and allocator warm-up alone.
for (const kind of ['direct', 'http', 'http-disagg'] as const) await setup(kind, { name: 'warm-up', promptTokens: 64, maxTokens: 8, clients: 4, requests: 8 });

const runs = [];
for (const m of MIXES) {
  const out: Record<string, unknown> = { mix: m };
  for (const kind of ['direct', 'http', 'http-disagg'] as const) {
    process.stderr.write(`${m.name} ${kind}...\n`);
    out[kind] = await setup(kind, m);
    process.stderr.write(`  ${JSON.stringify(out[kind])}\n`);
  }
  const d = out.direct as ReturnType<typeof summary>;
  const h = out.http as ReturnType<typeof summary>;
  out.httpOverhead = {
    tokensPerSecondRatio: +(h.tokensPerSecond / d.tokensPerSecond).toFixed(3),
    ttftP50Ms: +(h.ttftMs.p50 - d.ttftMs.p50).toFixed(1),
    e2eP50Ms: +(h.e2eMs.p50 - d.e2eMs.p50).toFixed(1),
  };
  runs.push(out);
}

const file = writeResult('serve-http', {
  model: 'deepseek-v3-tiny (vocab 256, random weights, byte tokenizer)', precision, engine: engineOpts, kernelThreads: process.env.MOE_NUM_THREADS,
  peer: 'direct: the same engine called in-process without HTTP; http − direct is the HTTP + router overhead (SSE, JSON, detokenisation, loopback TCP) under the same load',
  caveat: 'clients, router, role servers and engines share one Node process and event loop on this machine; disaggregation cannot help here because prefill and decode share the cores',
  runs,
});
process.stderr.write(`wrote ${file}\n`);
