// Every layer's backward against central finite differences on the float64 reference path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Params } from '../../../runtime/src/model/params.js';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc64 } from '../../../runtime/src/model/tensor.js';
import { rmsnorm } from '../../../runtime/src/model/norm.js';
import { addFfnParams, ffn } from '../../../runtime/src/model/ffn.js';
import { addAttentionParams, attention } from '../../../runtime/src/model/attention.js';
import { addMoeParams, moe } from '../../../runtime/src/model/moe.js';
import { addBlockParams, block } from '../../../runtime/src/model/block.js';
import { buildParams, step } from '../../../runtime/src/model/transformer.js';
import { crossEntropy } from '../../../runtime/src/model/loss.js';
import { ctx64, dotObjective, gradCheck, microConfig, randomVec } from './gradcheck.js';

function init(P: Params, rng: Rng, scale = 0.5): void {
  for (const p of P.list()) for (let i = 0; i < p.data.length; i++) p.data[i] = (p.shape.length === 1 ? 1 : 0) + rng.normal() * scale;
}

test('RMSNorm backward matches finite differences for input and weight', () => {
  const rng = new Rng(1);
  const P = new Params(alloc64);
  const w = P.add('w', [6], false);
  init(P, rng);
  const x = randomVec(4 * 6, rng);
  const R = randomVec(4 * 6, rng);
  gradCheck(P, x, (bw) => {
    const f = rmsnorm(x, w.data, w.grad, 4, 6, 1e-6, alloc64);
    return { value: dotObjective(f.y, R), dx: bw ? f.back(R) : undefined };
  }, rng, { perParam: 6, perInput: 24 });
});

test('SwiGLU FFN backward matches finite differences', () => {
  const rng = new Rng(2);
  const P = new Params(alloc64);
  addFfnParams(P, 'mlp', 5, 7);
  init(P, rng);
  const x = randomVec(3 * 5, rng);
  const R = randomVec(3 * 5, rng);
  gradCheck(P, x, (bw) => {
    const f = ffn(ctx64, P, 'mlp', x, 3);
    return { value: dotObjective(f.y, R), dx: bw ? f.back(R) : undefined };
  }, rng, { perParam: 8, perInput: 15 });
});

// YaRN with transformers' defaults (no mscale fields) scales the rotated values by 0.1·ln 4 + 1, which the backward
// must carry through the transposed rotation.
const yarnNoMscale = { type: 'yarn', factor: 4, original_max_position_embeddings: 2, beta_fast: 32, beta_slow: 1, mscale: 0, mscale_all_dim: 0, truncate: true } as const;
for (const [qLora, ropeScaling] of [[6, undefined], [0, undefined], [6, yarnNoMscale]] as const) {
  test(`MLA attention backward matches finite differences (q_lora_rank ${qLora}, two sequences, causal, ${ropeScaling ? 'YaRN' : 'RoPE'})`, () => {
    const rng = new Rng(3);
    const c = microConfig({ q_lora_rank: qLora, ...(ropeScaling ? { rope_scaling: ropeScaling } : {}) });
    const P = new Params(alloc64);
    addAttentionParams(P, 'attn', c);
    init(P, rng);
    const T = 2 * 4;
    const x = randomVec(T * c.hidden_size, rng);
    const R = randomVec(T * c.hidden_size, rng);
    gradCheck(P, x, (bw) => {
      const f = attention(ctx64, P, 'attn', c, x, T, 4);
      return { value: dotObjective(f.y, R), dx: bw ? f.back(R) : undefined };
    }, rng, { perParam: 8, perInput: 20 });
  });
}

test('attention is causal: changing a later token leaves earlier outputs unchanged', () => {
  const rng = new Rng(4);
  const c = microConfig();
  const P = new Params(alloc64);
  addAttentionParams(P, 'attn', c);
  init(P, rng);
  const d = c.hidden_size;
  const x = randomVec(4 * d, rng);
  const y1 = attention(ctx64, P, 'attn', c, x, 4, 4).y.slice();
  x[3 * d] += 1;
  const y2 = attention(ctx64, P, 'attn', c, x, 4, 4).y;
  assert.deepEqual(Array.from(y2.subarray(0, 3 * d)), Array.from(y1.subarray(0, 3 * d)));
  assert.notDeepEqual(Array.from(y2.subarray(3 * d)), Array.from(y1.subarray(3 * d)));
});

test('DeepSeekMoE layer backward (router weights, experts, shared expert, balance loss) matches finite differences', () => {
  const rng = new Rng(5);
  const c = microConfig();
  const P = new Params(alloc64);
  addMoeParams(P, 'mlp', c);
  init(P, rng);
  const bias = P.buffer('mlp.gate.e_score_correction_bias');
  bias.set([0.1, -0.2, 0.05, 0]);
  const T = 2 * 3;
  const x = randomVec(T * c.hidden_size, rng);
  const R = randomVec(T * c.hidden_size, rng);
  gradCheck(P, x, (bw) => {
    const f = moe(ctx64, P, 'mlp', c, x, T, 3, 0.3);
    return { value: dotObjective(f.y, R) + f.balance, dx: bw ? f.back(R) : undefined };
  }, rng, { perParam: 6, perInput: 24 });
});

test('cross-entropy gradient matches finite differences', () => {
  const rng = new Rng(6);
  const logits = randomVec(3 * 5, rng);
  const targets = [1, 4, 0];
  const { dlogits } = crossEntropy(logits, targets, 3, 5, 0.7, alloc64);
  for (let i = 0; i < logits.length; i++) {
    const old = logits[i];
    logits[i] = old + 1e-6;
    const up = crossEntropy(logits, targets, 3, 5, 0.7, alloc64).loss * 0.7;
    logits[i] = old - 1e-6;
    const down = crossEntropy(logits, targets, 3, 5, 0.7, alloc64).loss * 0.7;
    logits[i] = old;
    assert.ok(Math.abs((up - down) / 2e-6 - dlogits[i]) < 1e-7, `logit ${i}`);
  }
});

for (const layer of [0, 1]) {
  test(`decoder layer ${layer} (${layer === 0 ? 'dense' : 'MoE'}) backward matches finite differences`, () => {
    const rng = new Rng(7 + layer);
    const c = microConfig();
    const P = new Params(alloc64);
    addBlockParams(P, 'layer', c, layer);
    init(P, rng);
    const T = 2 * 3;
    const x = randomVec(T * c.hidden_size, rng);
    const R = randomVec(T * c.hidden_size, rng);
    gradCheck(P, x, (bw) => {
      const f = block(ctx64, P, 'layer', c, layer, x, T, 3, 0.1);
      return { value: dotObjective(f.y, R) + f.balance, dx: bw ? f.back(R) : undefined };
    }, rng, { perParam: 4, perInput: 12 });
  });
}

for (const depth of [1, 2]) {
  test(`whole model with MTP depth ${depth} (embedding, head, losses) backward matches finite differences`, () => {
    const rng = new Rng(11);
    const c = microConfig({ num_nextn_predict_layers: depth });
    const P = buildParams(c, alloc64, rng);
    const B = 2;
    const S = 3;
    const tokens = new Int32Array(B * (S + 1 + depth)).map(() => rng.int(c.vocab_size));
    const r = gradCheck(P, undefined, (bw) => {
      const res = step(ctx64, P, c, tokens, B, S, { alpha: 0.05, mtpLambda: 0.3, backward: bw });
      return { value: res.loss };
    }, rng, { perParam: 3 });
    assert.ok(r.count > 50);
  });
}
