// Speculative decoding with the model's MTP module (engine.ts speculativeStep, mtp.ts): on a micro model trained a
// few seconds with MTP (so drafts are accepted often and rejected sometimes), greedy tokens and log-probabilities are
// the same with and without drafting for a continuous batch of sequences of different lengths, stop tokens and limits;
// the KV hand-off carries the drafter's state (decode drafts from it with the same tokens as a local run); the
// serving MTP module computes training's MTP prediction; a model without MTP weights is refused with the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteTokenizer } from '../../../runtime/src/data/tokenizer.js';
import { modelConfig } from '../../../runtime/src/model/config.js';
import { nativeAvailable } from '../../../runtime/src/model/precision.js';
import { step } from '../../../runtime/src/model/transformer.js';
import { Trainer } from '../../../runtime/src/train/trainer.js';
import { defaultTrainOptions } from '../../../runtime/src/train/options.js';
import { Engine } from '../../../runtime/src/serve/engine/engine.js';
import { decodeHandoff, encodeHandoff } from '../../../runtime/src/serve/engine/handoff.js';
import { InferenceModel } from '../../../runtime/src/serve/engine/inference-model.js';
import type { EngineOptions, GenerateRequest, TokenLogprob } from '../../../runtime/src/serve/engine/types.js';
import { weightsFromParams, type ModelWeights } from '../../../runtime/src/serve/engine/weights.js';
import { microServe } from './fixtures.js';

let trained: { t: Trainer; w: ModelWeights } | undefined;
/** The micro model after 60 fp32 steps on a two-sentence corpus: main and MTP losses near 1 nat. */
function model(): { t: Trainer; w: ModelWeights } {
  if (!trained) {
    const t = new Trainer(defaultTrainOptions({ overrides: microServe, precision: 'fp32', seqLen: 32, batch: 4, steps: 60, seed: 5 }), byteTokenizer,
      byteTokenizer.encode('the cat sat on the mat. the dog ran to the log. '.repeat(30)));
    for (let i = 0; i < 60; i++) t.trainStep();
    trained = { t, w: weightsFromParams(t.params) };
  }
  return trained;
}

const engine = (opts: Partial<EngineOptions>): Engine => {
  const { t, w } = model();
  return Engine.fromWeights(t.config, byteTokenizer, w, { maxBatch: 4, maxQueue: 8, precision: 'fp32', ...opts });
};

interface Out { tokens: number[]; logprobs: (TokenLogprob | undefined)[]; finish: string }

async function run(e: Engine, reqs: GenerateRequest[]): Promise<Out[]> {
  return Promise.all(reqs.map(async (r) => {
    const o: Out = { tokens: [], logprobs: [], finish: '' };
    const res = await e.generate(r, (tok, lp) => {
      o.tokens.push(tok);
      o.logprobs.push(lp);
    });
    o.finish = res.finish;
    return o;
  }));
}

/** Six greedy requests, more than maxBatch: different prompt lengths and limits, a stop token, log-probabilities. */
const greedyBatch = (): GenerateRequest[] => ['the cat ', 'the d', 'on the mat. the', 'ran', 'the dog ran to the log. the cat sat', 't'].map((p, i) => ({
  id: `g${i}`,
  promptIds: byteTokenizer.encode(p),
  params: { maxTokens: 7 + 4 * i, temperature: 0, topP: 1, seed: i, stopTokenIds: i === 2 ? [32] : [] },
  ...(i === 1 ? { logprobs: { topK: 3, prompt: false } } : {}),
}));

const precisions = nativeAvailable() ? (['fp32', 'fp8'] as const) : (['fp32'] as const);
for (const precision of precisions) {
  test(`greedy (${precision}): the same tokens, finishes and log-probabilities with 1, 2 and 4 drafts per step as without drafting`, async () => {
    const plain = engine({ precision });
    const want = await run(plain, greedyBatch());
    await plain.close();
    assert.ok(want[2].finish === 'stop', 'request 2 should end on its stop token (the test covers a stop inside accepted drafts)');
    for (const tokens of [1, 2, 4]) {
      const e = engine({ precision, speculative: { method: 'mtp', tokens } });
      const got = await run(e, greedyBatch());
      const st = e.stats().speculative!;
      await e.close();
      assert.deepEqual(got, want, `${tokens} drafts per step changed the output`);
      assert.ok(st.accepted > 0 && st.accepted < st.drafted, `drafts should be accepted sometimes and rejected sometimes, got ${JSON.stringify(st)}`);
      assert.ok(st.steps > 0 && st.drafted <= st.steps * tokens);
    }
  });
}

test('a prefill → decode hand-off carries the drafter state: decode drafts from it with the same tokens as drafting locally (greedy and sampled)', async () => {
  const A = engine({});
  const B = engine({ speculative: { method: 'mtp', tokens: 2 } });
  const local = engine({ speculative: { method: 'mtp', tokens: 2 } });
  for (const temperature of [0, 0.8]) {
    const promptIds = byteTokenizer.encode('the dog ran to');
    const params = { maxTokens: 14, temperature, topP: 0.95, seed: 9, stopTokenIds: [] };
    const [want] = await run(local, [{ id: 'l', promptIds, params }]);
    const h = await A.prefill({ id: 'p', promptIds, params, mtp: true });
    assert.ok(h.mtp, 'the hand-off should carry the MTP state when asked');
    assert.equal(h.mtp.latent.length, (promptIds.length - 1) * model().t.config.kv_lora_rank);
    const back = decodeHandoff(encodeHandoff(h), model().t.config);
    assert.deepEqual(back.mtp, h.mtp);
    const before = B.stats().speculative!.drafted;
    const [got] = await run(B, [{ id: 'p', promptIds, params, handoff: back }]);
    assert.deepEqual(got.tokens, want.tokens);
    assert.ok(B.stats().speculative!.drafted > before, 'decode should have drafted from the handed-over state');
    // A hand-off without the state (a prefill pod not asked for it) still decodes, one token per step.
    const bare = await A.prefill({ id: 'q', promptIds, params });
    assert.equal(bare.mtp, undefined);
    const drafted = B.stats().speculative!.drafted;
    const [plain] = await run(B, [{ id: 'q', promptIds, params, handoff: decodeHandoff(encodeHandoff(bare), model().t.config) }]);
    assert.equal(B.stats().speculative!.drafted, drafted);
    if (temperature === 0) assert.deepEqual(plain.tokens, want.tokens);
  }
  await Promise.all([A.close(), B.close(), local.close()]);
});

test('the MTP module\'s cache stays consistent through accepts and rejects: every draft equals the module run afresh over the verified prefix', async () => {
  const { t, w } = model();
  const c = t.config;
  const V = c.vocab_size;
  const e = engine({ speculative: { method: 'mtp', tokens: 2 } });
  const mtp = e.model.mtp!;
  // The first module call after each main forward adds the verified entries and drafts from the last one; the
  // second feeds the module its own output (a speculative entry, which must be cut off again).
  const calls: { P: number; logits: Float32Array }[] = [];
  let first = true;
  const fwd = mtp.forward.bind(mtp);
  mtp.forward = (items) => {
    const r = fwd(items);
    if (first) calls.push({ P: items[0].cache.length, logits: r.logits.slice(0, V) });
    first = false;
    return r;
  };
  const main = e.model.run.bind(e.model);
  e.model.run = (...a: Parameters<typeof main>) => {
    first = true;
    return main(...a);
  };
  const prompt = byteTokenizer.encode('the dog ran to');
  const [out] = await run(e, [{ id: 'x', promptIds: prompt, params: { maxTokens: 40, temperature: 0.8, topP: 1, seed: 3, stopTokenIds: [] } }]);
  const st = e.stats().speculative!;
  await e.close();
  assert.ok(st.accepted > 0 && st.accepted < st.drafted, `need both accepts and rejects, got ${JSON.stringify(st)}`);
  const full = Int32Array.from([...prompt, ...out.tokens]);
  const fresh = new InferenceModel(c, w, 'fp32');
  for (const { P, logits } of calls) {
    // The verified prefix is full[0..P); the module's entry P-1 reads h_{P-1} and token P.
    const h = fresh.run([{ cache: fresh.newCache(), tokens: full.subarray(0, P) }], undefined, { hidden: true }).hidden!;
    const ref = fresh.mtp!.forward([{ cache: fresh.mtp!.newCache(), hidden: h, tokens: full.subarray(1, P + 1) }]).logits;
    let diff = 0;
    let range = 0;
    for (let v = 0; v < V; v++) {
      diff = Math.max(diff, Math.abs(ref[v] - logits[v]));
      range = Math.max(range, Math.abs(ref[v]));
    }
    assert.ok(diff <= 1e-4 * range, `draft at position ${P}: max difference ${diff} to the module run afresh (logit range ${range})`);
  }
  assert.ok(calls.length >= 8, `${calls.length} draft steps`);
});

test('the serving MTP module predicts what training\'s MTP module predicts (its loss on a window equals step()\'s mtpLoss)', () => {
  const { t, w } = model();
  const c = t.config;
  const S = 12;
  const win = byteTokenizer.encode('the cat sat on the mat!').subarray(0, S + 2);
  const train = step(t.ctx, t.params, c, win, 1, S, { alpha: 0, mtpLambda: 1, backward: false });
  const m = new InferenceModel(c, w, 'fp32');
  const cache = m.newCache();
  const out = m.run([{ cache, tokens: win.subarray(0, S) }], undefined, { hidden: true });
  const d = c.hidden_size;
  const V = c.vocab_size;
  const mc = m.mtp!.newCache();
  let ce = 0;
  // One entry at a time (decode form): entry i reads h_i and token i+1 and predicts token i+2.
  for (let i = 0; i < S; i++) {
    const r = m.mtp!.forward([{ cache: mc, hidden: out.hidden!.subarray(i * d, (i + 1) * d), tokens: win.subarray(i + 1, i + 2) }]);
    let mx = -Infinity;
    for (let v = 0; v < V; v++) mx = Math.max(mx, r.logits[v]);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(r.logits[v] - mx);
    ce += mx + Math.log(z) - r.logits[win[i + 2]];
  }
  ce /= S;
  assert.ok(Math.abs(ce - train.mtpLoss) < 1e-4 * Math.max(1, train.mtpLoss), `serving MTP loss ${ce} vs training ${train.mtpLoss}`);
});

test('speculative options are checked: a model without MTP weights, an unknown method, a bad token count', () => {
  const c = modelConfig('deepseek-v3-tiny', { ...microServe, num_nextn_predict_layers: 0 });
  assert.throws(() => Engine.random(c, byteTokenizer, { maxBatch: 1, maxQueue: 1, precision: 'fp32', speculative: { method: 'mtp', tokens: 1 } }, 1),
    /needs the model's MTP module .* num_nextn_predict_layers 0: serve a model trained with MTP, or turn speculative off/);
  assert.throws(() => engine({ speculative: { method: 'eagle' as 'mtp', tokens: 1 } }), /speculative.method must be "mtp", got "eagle"/);
  assert.throws(() => engine({ speculative: { method: 'mtp', tokens: 0 } }), /speculative.tokens must be an integer in 1..8, got 0/);
});
