// Serving engine throughput on the deepseek-v3-tiny preset (random weights drawn as the trainer draws them):
//   decode tokens/s at batch 1, 8 and 32 (continuous batching: B requests admitted together, then one decode step per
//   iteration for all of them; timed from the moment every sequence has its first token to the last token), and
//   prefill tokens/s (8 prompts of 128 tokens in one batched forward; one prompt of 256); medians of 3 runs.
// Peer, measured in the same run: today's naive generation (runtime/src/generate.ts: step() over the whole window
// for every new token, batch 1, no cache) on the same prompt, precision and number of tokens.
// Writes bench/results/serve-engine.json. BENCH_SERVE_PRECISION (default: fp8 with the addon, else fp32),
// BENCH_SERVE_TOKENS (generated tokens per sequence, default 32).
import { loadavg } from 'node:os';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import { buildParams, step } from '../../runtime/src/model/transformer.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { alloc32 } from '../../runtime/src/model/tensor.js';
import { kernelInfo } from '../../runtime/src/native/index.js';
import { nativeAvailable, precisionCtx, type Precision } from '../../runtime/src/model/precision.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { weightsFromParams } from '../../runtime/src/serve/engine/weights.js';
import { writeResult } from '../plan/common.js';

// The native pool's stale-worker race (see bench/train/train.bench.ts): one kernel thread unless told otherwise.
process.env.MOE_NUM_THREADS ??= '1';
const precision = (process.env.BENCH_SERVE_PRECISION ?? (nativeAvailable() ? 'fp8' : 'fp32')) as Precision;
const GEN = Number(process.env.BENCH_SERVE_TOKENS ?? 32);
const N = GEN;
const PROMPT = 32;
const c = modelConfig('deepseek-v3-tiny');
const P = buildParams(c, alloc32, new Rng(1));
const weights = weightsFromParams(P);
const rnd = new Rng(2);
const promptOf = (n: number): Int32Array => Int32Array.from({ length: n }, () => rnd.int(256));
const greedy = (maxTokens: number) => ({ maxTokens, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] });

async function decodeRun(B: number): Promise<{ batch: number; tokensPerSec: number; msPerStep: number; seconds: number }> {
  const e = Engine.fromWeights(c, byteTokenizer, weights, { maxBatch: B, maxQueue: B, precision, maxSequenceLength: 4096 });
  // Warm-up (JIT, packing caches).
  await e.generate({ id: 'w', promptIds: promptOf(PROMPT), params: greedy(4) }, () => {});
  let first = 0;
  let tFirst = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: B }, (_, i) => {
    let seen = false;
    return e.generate({ id: `r${i}`, promptIds: promptOf(PROMPT), params: greedy(N) }, () => {
      if (!seen) {
        seen = true;
        if (++first === B) tFirst = performance.now();
      }
    });
  }));
  const t1 = performance.now();
  await e.close();
  const secs = (t1 - tFirst) / 1000;
  return { batch: B, tokensPerSec: +((B * (N - 1)) / secs).toFixed(1), msPerStep: +((secs * 1000) / (N - 1)).toFixed(2), seconds: +((t1 - t0) / 1000).toFixed(2) };
}

async function prefillRun(count: number, len: number): Promise<{ prompts: number; promptTokens: number; tokensPerSec: number; seconds: number }> {
  const e = Engine.fromWeights(c, byteTokenizer, weights, { maxBatch: count, maxQueue: count, precision, maxSequenceLength: 4096 });
  await e.prefill({ id: 'w', promptIds: promptOf(16), params: greedy(1) });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => e.prefill({ id: `p${i}`, promptIds: promptOf(len), params: greedy(1) })));
  const secs = (performance.now() - t0) / 1000;
  await e.close();
  return { prompts: count, promptTokens: len, tokensPerSec: +((count * len) / secs).toFixed(1), seconds: +secs.toFixed(3) };
}

/** generate.ts's loop: the whole window through step() for every new token. */
function naiveRun(prompt: Int32Array, prec = precision, N = GEN): { tokensPerSec: number; seconds: number; tokens: number[] } {
  const ctx = precisionCtx(prec);
  const ids = Array.from(prompt);
  const D = c.num_nextn_predict_layers;
  const V = c.vocab_size;
  const out: number[] = [];
  const t0 = performance.now();
  for (let n = 0; n < N; n++) {
    const S = ids.length;
    const window = Int32Array.from([...ids, ...new Array(1 + D).fill(0)]);
    const r = step(ctx, P, c, window, 1, S, { alpha: 0, mtpLambda: 0, backward: false });
    let best = 0;
    for (let v = 1; v < Math.min(V, 256); v++) if (r.logits[(S - 1) * V + v] > r.logits[(S - 1) * V + best]) best = v;
    ids.push(best);
    out.push(best);
  }
  const secs = (performance.now() - t0) / 1000;
  return { tokensPerSec: +(N / secs).toFixed(2), seconds: +secs.toFixed(2), tokens: out };
}

/** The engine's tokens for the naive run's prompt (same Rng draw), to show both generate the same text. */
async function engineTokens(prompt: Int32Array, prec = precision, n = GEN): Promise<number[]> {
  const e = Engine.fromWeights(c, byteTokenizer, weights, { maxBatch: 1, maxQueue: 1, precision: prec });
  const out: number[] = [];
  await e.generate({ id: 'x', promptIds: prompt, params: greedy(n) }, (t) => out.push(t));
  await e.close();
  return out;
}

// Median of 3 runs each: the machine is shared, and one descheduling skews a sub-second run.
const REPS = Number(process.env.BENCH_SERVE_REPS ?? 3);
async function median<T extends { tokensPerSec: number }>(f: () => Promise<T>): Promise<T> {
  const rs: T[] = [];
  for (let i = 0; i < REPS; i++) rs.push(await f());
  return rs.sort((a, b) => a.tokensPerSec - b.tokensPerSec)[Math.floor(rs.length / 2)];
}
const decode = [];
for (const B of [1, 8, 32]) {
  const r = await median(() => decodeRun(B));
  console.log(`decode batch ${B}: ${r.tokensPerSec} tokens/s (${r.msPerStep} ms/step)`);
  decode.push(r);
}
const prefill = [await median(() => prefillRun(8, 128)), await median(() => prefillRun(1, 256))];
for (const p of prefill) console.log(`prefill ${p.prompts}×${p.promptTokens}: ${p.tokensPerSec} tokens/s`);
const naivePrompt = promptOf(PROMPT);
const naive = naiveRun(naivePrompt);
// Both generate greedily from the same prompt: the same tokens show the cache changes the cost, not the result.
const sameText = (await engineTokens(naivePrompt)).join() === naive.tokens.join();
console.log(`naive full recompute (batch 1): ${naive.tokensPerSec} tokens/s; engine batch 1 speedup ×${(decode[0].tokensPerSec / naive.tokensPerSec).toFixed(1)}; same tokens: ${sameText}`);
// In fp8 the absorbed kv_b sees the latent unquantised where step()'s kv_b GEMM quantises it, so a near-tie can
// pick another token on random weights; in fp32 both compute the same function and must agree token for token.
const sameTokensFp32 = (await engineTokens(naivePrompt, 'fp32', 8)).join() === naiveRun(naivePrompt, 'fp32', 8).tokens.join();
console.log(`fp32 engine vs fp32 naive, 8 tokens: same tokens ${sameTokensFp32}`);

const info = nativeAvailable() ? kernelInfo() : { path: 'none (TypeScript)', threads: 1 };
console.log(`wrote ${writeResult('serve-engine', {
  model: 'deepseek-v3-tiny (random init)',
  // Other processes share the machine: the 1-minute load average at the end of the run, for reading the numbers.
  loadAverage: +loadavg()[0].toFixed(2),
  precision,
  kernels: info,
  promptTokens: PROMPT,
  generatedTokens: N,
  decode,
  prefill,
  peer: { name: 'naive full recompute per token (runtime/src/generate.ts loop, step() over the window, batch 1, no KV cache)', ...naive, tokens: undefined },
  sameTokensAsPeer: sameText,
  sameTokensAsPeerFp32: sameTokensFp32,
  speedup: {
    batch1: +(decode[0].tokensPerSec / naive.tokensPerSec).toFixed(1),
    batch8: +(decode[1].tokensPerSec / naive.tokensPerSec).toFixed(1),
    batch32: +(decode[2].tokensPerSec / naive.tokensPerSec).toFixed(1),
  },
})}`);
