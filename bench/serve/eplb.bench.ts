// Expert-load balance before and after EPLB, measured on the serving engine with a skewed router.
// The tiny preset's routers get a Zipf-like e_score_correction_bias (a few hot experts per layer, a different few in
// each layer), the engine serves a batch of requests under the identity placement (experts split contiguously over
// EP = 4 simulated GPUs, no redundancy), the planner's rebalanceExperts (operator/plan/eplb.ts, what the operator
// runs) turns the engine's own cumulative expert counts into a placement with 4 redundant slots, the engine swaps to it,
// and a fresh batch from the same distribution is served. Balance = max/mean routed tokens per GPU (1 = perfect),
// measured by the engine's dispatcher, and predicted by the operator's balanceOf on the observed counts.
// Peer, in the same run: the same traffic without EPLB (identity placement). Writes bench/results/serve-eplb.json.
import { loadavg } from 'node:os';
import { byteTokenizer } from '../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../runtime/src/model/config.js';
import { buildParams } from '../../runtime/src/model/transformer.js';
import { Rng } from '../../runtime/src/model/rng.js';
import { alloc32 } from '../../runtime/src/model/tensor.js';
import { nativeAvailable } from '../../runtime/src/model/precision.js';
import { Engine } from '../../runtime/src/serve/engine/engine.js';
import { weightsFromParams } from '../../runtime/src/serve/engine/weights.js';
import { rebalanceExperts } from '../../operator/plan/eplb.js';
import { balanceOf, contiguousPhy2log } from '../../operator/controllers/infd/expert-rebalance.js';
import { writeResult } from '../plan/common.js';

process.env.MOE_NUM_THREADS ??= '1';
const precision = nativeAvailable() ? 'fp8' : 'fp32';
const GPUS = 4, REDUNDANT = 4, NODES = 2;
const REQUESTS = Number(process.env.BENCH_EPLB_REQUESTS ?? 48), PROMPT = 32, TOKENS = 16;
const c = modelConfig('deepseek-v3-tiny');
const E = c.n_routed_experts;
const moeLayers = Array.from({ length: c.num_hidden_layers }, (_, l) => l).filter((l) => l >= c.first_k_dense_replace);
const P = buildParams(c, alloc32, new Rng(1));

// Skew: expert ranked k in a per-layer random order gets bias 0.6 / (k + 1) (sigmoid scores are in (0, 1)).
const skewRng = new Rng(7);
for (const l of moeLayers) {
  const bias = P.buffers.get(`model.layers.${l}.mlp.gate.e_score_correction_bias`);
  if (!bias) throw new Error(`the tiny preset has no router bias at layer ${l}`);
  const order = Array.from({ length: E }, (_, e) => e);
  for (let i = E - 1; i > 0; i--) {
    const j = skewRng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  order.forEach((e, k) => { bias[e] = 0.6 / (k + 1); });
}
const weights = weightsFromParams(P);
const rnd = new Rng(2);
const greedy = { maxTokens: TOKENS, temperature: 0, topP: 1, seed: 0, stopTokenIds: [] };

async function serveBatch(e: Engine, tag: string): Promise<void> {
  await Promise.all(Array.from({ length: REQUESTS }, (_, i) => e.generate({
    id: `${tag}${i}`, promptIds: Int32Array.from({ length: PROMPT }, () => rnd.int(256)), params: greedy,
  }, () => {})));
}

const engine = Engine.fromWeights(c, byteTokenizer, weights, { maxBatch: 16, maxQueue: REQUESTS, precision, epSize: GPUS, maxSequenceLength: 4096 });
await serveBatch(engine, 'identity-');
const identity = engine.stats().balance;
const observed = engine.expertLoad();
const predictedIdentity = balanceOf(observed, contiguousPhy2log(observed.length, E), GPUS);

const runs: Record<string, { measured: number; predicted: number; version: number }> = {};
let version = 0;
for (const [policy, groups, nodes] of [['hierarchical', c.n_group, NODES], ['global', 1, 1]] as const) {
  const plan = rebalanceExperts(observed, E + REDUNDANT, groups, nodes, GPUS);
  engine.setPlacement({ version: ++version, gpus: GPUS, slotsPerGpu: (E + REDUNDANT) / GPUS, phy2log: plan.phy2log });
  await serveBatch(engine, `${policy}-`);
  runs[policy] = { measured: +engine.stats().balance.toFixed(4), predicted: +balanceOf(observed, plan.phy2log, GPUS).toFixed(4), version };
}
await engine.close();

for (const [k, v] of Object.entries(runs)) console.log(`${k}: balance ${v.measured} measured (${v.predicted} predicted) vs ${identity.toFixed(4)} without EPLB`);
console.log(`wrote ${writeResult('serve-eplb', {
  model: 'deepseek-v3-tiny (random init, Zipf-skewed router bias)',
  loadAverage: +loadavg()[0].toFixed(2),
  precision,
  gpus: GPUS, redundantSlots: REDUNDANT, nodes: NODES, requests: REQUESTS, promptTokens: PROMPT, generatedTokens: TOKENS,
  observedLoad: observed,
  peer: { name: 'no EPLB: identity placement (experts contiguous over the GPUs, no redundant slots)', measured: +identity.toFixed(4), predicted: +predictedIdentity.toFixed(4) },
  eplb: runs,
  improvement: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, +(identity / v.measured).toFixed(2)])),
})}`);
