// Serving benchmark: bounded closed-loop load against in-process role servers and the router on loopback, with the
// real engine on the deepseek-v3-tiny preset (random weights, byte tokenizer). Two mixes:
//   prefill-heavy: long prompts, few tokens;   decode-heavy: short prompts, many tokens.
// Three setups per mix, fresh engines with the same seed each time:
//   direct          the peer: the same engine called directly (engine.generate from N concurrent callers in the
//                   engine's own process, direct-proc.ts), no HTTP;
//   http            router → decode replica (decode prefills locally): direct vs http is the HTTP/router overhead;
//   http-disagg     router → decode ← prefill (KV hand-off over HTTP), the deployment shape.
// Role servers run in their own processes (role-proc.ts), as pods do; the router and the clients share this one.
// The peer's engine runs in a fresh process too, so engine placement is alike and only HTTP + router differ.
// Clients stream (SSE with include_usage); TTFT = first content chunk, e2e = [DONE]; ITL = (e2e − TTFT)/(tokens − 1)
// per request (the byte tokenizer holds back incomplete UTF-8, so chunk gaps are not token gaps). All processes share
// this machine's cores (and other work on it): numbers are for comparing setups, not capacity.
// Writes bench/results/serve-http.json. Sizes: BENCH_SERVE_SCALE (default 1) multiplies the request counts;
// BENCH_SERVE_MIX=decode-heavy runs one mix.
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { createRouter } from '../../runtime/src/serve/http/router.js';
import { fixedRoutes } from '../../runtime/src/serve/http/routes.js';
import { writeResult } from '../plan/common.js';
import { closedLoop, engineOpts, precision, prompt, type Mix, type Sample } from './common.js';

// One kernel thread per engine process (the role processes inherit it).
process.env.MOE_NUM_THREADS ??= '1';
const SCALE = Number(process.env.BENCH_SERVE_SCALE ?? 1);
const MODEL = 'bench';

/** A role server in its own process; resolves with its URL and a stop function. */
function roleProcess(role: 'prefill' | 'decode'): Promise<{ url: string; stop: () => Promise<void> }> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./role-proc.js', import.meta.url)), [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({
      url: (m as { url: string }).url,
      stop: () => new Promise<void>((r) => { child.once('exit', () => r()); child.send('stop'); }),
    }));
    child.once('exit', (code) => reject(new Error(`role process ${role} exited ${code}`)));
  });
}

const MIXES: Mix[] = [
  { name: 'prefill-heavy', promptTokens: 256, maxTokens: 4, clients: 4, requests: Math.max(4, Math.round(12 * SCALE)) },
  { name: 'decode-heavy', promptTokens: 16, maxTokens: 64, clients: 8, requests: Math.max(8, Math.round(24 * SCALE)) },
];





function viaHttp(url: string, m: Mix) {
  return (i: number): Promise<Sample> => new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    let buf = '';
    const body = JSON.stringify({ model: MODEL, prompt: prompt(m, i), max_tokens: m.maxTokens, temperature: 0, seed: i, stream: true, stream_options: { include_usage: true } });
    const req = request(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      res.on('error', reject);
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
/** The peer in its own process like the role servers, so both setups' engines run alike. */
function directProcess(m: Mix): Promise<{ samples: Sample[]; wall: number }> {
  const child = fork(fileURLToPath(new URL('./direct-proc.js', import.meta.url)), [JSON.stringify(m)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (r) => resolve(r as { samples: Sample[]; wall: number }));
    child.once('exit', (code) => reject(new Error(`direct process exited ${code}`)));
  });
}

async function setup(kind: 'direct' | 'http' | 'http-disagg', m: Mix) {
  if (kind === 'direct') {
    const r = await directProcess(m);
    return summary(r.samples, r.wall);
  }
  const roles = await Promise.all([roleProcess('decode'), ...(kind === 'http-disagg' ? [roleProcess('prefill')] : [])]);
  const [decode, prefill] = roles;
  const router = createRouter({ tokenizer: byteTokenizer, routes: fixedRoutes({ model: MODEL, prefill: prefill ? [{ replica: 0, url: prefill.url }] : [], decode: [{ replica: 0, url: decode.url }] }), log: quiet, maxInFlight: 1024 });
  await router.listen(0, '127.0.0.1');
  await viaHttp(router.url(), { ...m, maxTokens: 2 })(0);
  const r = await closedLoop(m, viaHttp(router.url(), m));
  await router.shutdown(1000);
  for (const p of roles) await p.stop();
  return summary(r.samples, r.wall);
}

// Warm-up pass of every setup on a small mix (not recorded), so no setup pays the JIT and allocator warm-up alone.
for (const kind of ['direct', 'http', 'http-disagg'] as const) await setup(kind, { name: 'warm-up', promptTokens: 64, maxTokens: 8, clients: 4, requests: 8 });

const ROUNDS = Number(process.env.BENCH_SERVE_ROUNDS ?? 3);
const KINDS = ['direct', 'http', 'http-disagg'] as const;
type Summary = ReturnType<typeof summary>;
const runs = [];
const only = process.env.BENCH_SERVE_MIX;
for (const m of MIXES.filter((x) => !only || x.name === only)) {
  // Rounds rotate the order of the setups, so drifting machine load does not favour one; each setup reports its
  // median-throughput round and the throughput of every round.
  const got: Record<string, Summary[]> = { direct: [], http: [], 'http-disagg': [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < KINDS.length; k++) {
      const kind = KINDS[(k + r) % KINDS.length];
      process.stderr.write(`${m.name} round ${r + 1}/${ROUNDS} ${kind}: `);
      const sum = await setup(kind, m);
      got[kind].push(sum);
      process.stderr.write(`${sum.tokensPerSecond} tok/s, TTFT p50 ${sum.ttftMs.p50} ms, ITL p50 ${sum.itlMs?.p50 ?? '-'} ms\n`);
    }
  }
  const out: Record<string, unknown> = { mix: m };
  const median: Record<string, Summary> = {};
  for (const kind of KINDS) {
    const sorted = [...got[kind]].sort((a, b) => a.tokensPerSecond - b.tokensPerSecond);
    median[kind] = sorted[Math.floor(sorted.length / 2)];
    out[kind] = { ...median[kind], tokensPerSecondEachRound: got[kind].map((x) => x.tokensPerSecond) };
  }
  const d = median.direct;
  const h = median.http;
  out.httpOverhead = {
    tokensPerSecondRatio: +(h.tokensPerSecond / d.tokensPerSecond).toFixed(3),
    ttftP50Ms: +(h.ttftMs.p50 - d.ttftMs.p50).toFixed(1),
    itlP50Ms: h.itlMs && d.itlMs ? +(h.itlMs.p50 - d.itlMs.p50).toFixed(1) : null,
    e2eP50Ms: +(h.e2eMs.p50 - d.e2eMs.p50).toFixed(1),
  };
  runs.push(out);
}

const file = writeResult('serve-http', {
  model: 'deepseek-v3-tiny (vocab 256, random weights, byte tokenizer)', precision, rounds: ROUNDS, engine: engineOpts, kernelThreads: process.env.MOE_NUM_THREADS,
  peer: 'direct: the same engine called in-process without HTTP; http − direct is the HTTP + router overhead (SSE, JSON, detokenisation, loopback TCP) under the same load',
  setup: 'role servers (decode; prefill for http-disagg) each in their own Node process, as pods; router and clients in the benchmark process; loopback TCP',
  caveat: 'all processes share this machine\u2019s cores with each other and with other work, so disaggregation cannot help here (prefill and decode compete for the same cores); read the numbers as comparisons within one run',
  runs,
});
process.stderr.write(`wrote ${file}\n`);
