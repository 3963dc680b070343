// The per-token loss hook (model/loss.ts TokenObjective) and packed batches (model/token-batch.ts): dL/dlogits from
// dL/dlogp against finite differences and a hand-computed case, the whole model under an objective and with segments
// against finite differences, slices that average to the whole batch, and attention that stays inside a segment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../../runtime/src/model/rng.js';
import { alloc64 } from '../../../runtime/src/model/tensor.js';
import { buildParams, step } from '../../../runtime/src/model/transformer.js';
import { crossEntropy, objectiveLoss, targetLogProbs, weightedCrossEntropy, type TokenLossResult } from '../../../runtime/src/model/loss.js';
import { segmentStarts, sliceBatch } from '../../../runtime/src/model/token-batch.js';
import { ctx64, gradCheck, microConfig, randomVec } from './gradcheck.js';

test('targetLogProbs: log-softmax of the target, hand-computed', () => {
  // Row [0, ln 3]: softmax [1/4, 3/4]; target 1 → ln(3/4), target 0 → ln(1/4).
  const logits = Float64Array.of(0, Math.log(3), 0, Math.log(3));
  const lp = targetLogProbs(logits, [1, 0], 2, 2);
  assert.ok(Math.abs(lp.logp[0] - Math.log(0.75)) < 1e-15);
  assert.ok(Math.abs(lp.logp[1] - Math.log(0.25)) < 1e-15);
  // dL/dlogits = w · dlogp · (onehot − softmax): dlogp [2, −1], w 0.5 → row 0: 0.5·2·([0,1] − [¼,¾]) = [−¼, ¼];
  // row 1: 0.5·(−1)·([1,0] − [¼,¾]) = [−⅜, ⅜].
  const d = lp.back(Float64Array.of(2, -1), 0.5, alloc64);
  const want = [-0.25, 0.25, -0.375, 0.375];
  want.forEach((v, i) => assert.ok(Math.abs(d[i] - v) < 1e-15, `dlogits[${i}] ${d[i]} want ${v}`));
});

test('a nonlinear per-token objective: dlogits from dlogp match finite differences', () => {
  const rng = new Rng(21);
  const T = 4, V = 6;
  const logits = randomVec(T * V, rng);
  const targets = [0, 5, 2, 2];
  const adv = [1.5, -0.5, 2, 0.25];
  // L = Σ adv_t · exp(logp_t)² (any smooth function of logp; GRPO's ratio is of this kind).
  const f = (logp: Float64Array): TokenLossResult => {
    const dlogp = new Float64Array(T);
    let loss = 0;
    for (let t = 0; t < T; t++) {
      const p2 = Math.exp(2 * logp[t]);
      loss += adv[t] * p2;
      dlogp[t] = 2 * adv[t] * p2;
    }
    return { loss, dlogp };
  };
  const w = 0.7;
  const { dlogits } = objectiveLoss(logits, targets, T, V, w, f, alloc64);
  for (let i = 0; i < logits.length; i++) {
    const old = logits[i];
    logits[i] = old + 1e-6;
    const up = objectiveLoss(logits, targets, T, V, w, f, alloc64).loss * w;
    logits[i] = old - 1e-6;
    const down = objectiveLoss(logits, targets, T, V, w, f, alloc64).loss * w;
    logits[i] = old;
    assert.ok(Math.abs((up - down) / 2e-6 - dlogits[i]) < 1e-8, `logit ${i}`);
  }
});

test('weighted cross-entropy with every weight 1/T is mean cross-entropy; masked rows get no gradient', () => {
  const rng = new Rng(22);
  const T = 3, V = 5;
  const logits = randomVec(T * V, rng);
  const targets = [1, 4, 0];
  const ce = crossEntropy(logits, targets, T, V, 0.5, alloc64);
  const obj = weightedCrossEntropy(new Float64Array(T).fill(1 / T), 3);
  const w = objectiveLoss(logits, targets, T, V, 0.5, (lp) => obj.main(lp), alloc64);
  assert.ok(Math.abs(w.loss - ce.loss) < 1e-14);
  for (let i = 0; i < T * V; i++) assert.ok(Math.abs(w.dlogits[i] - ce.dlogits[i]) < 1e-15);
  // Only row 1 counts: the loss is its cross-entropy, rows 0 and 2 get zero gradient.
  const m = objectiveLoss(logits, targets, T, V, 1, (lp) => weightedCrossEntropy(Float64Array.of(0, 1, 0), 3).main(lp), alloc64);
  const only1 = crossEntropy(logits.subarray(V, 2 * V), [4], 1, V, 1, alloc64);
  assert.ok(Math.abs(m.loss - only1.loss) < 1e-14);
  for (const r of [0, 2]) for (let v = 0; v < V; v++) assert.equal(m.dlogits[r * V + v], 0);
});

test('slices of a weighted cross-entropy: each scaled by B/n, so the mean over equal slices is the whole', () => {
  // 4 windows of S = 2: weights by hand.
  const w = Float64Array.of(0, 0.25, 0.25, 0, 0, 0, 0.5, 0);
  const obj = weightedCrossEntropy(w, 2);
  const logp = Float64Array.of(-1, -2, -3, -4, -5, -6, -7, -8);
  // Whole: 0.25·2 + 0.25·3 + 0.5·7 = 4.75.
  assert.ok(Math.abs(obj.main(logp).loss - 4.75) < 1e-14);
  const a = obj.slice(0, 2).main(logp.subarray(0, 4)), b = obj.slice(2, 4).main(logp.subarray(4, 8));
  // Slice [0,2): 2·(0.25·2 + 0.25·3) = 2.5; [2,4): 2·(0.5·7) = 7; mean 4.75.
  assert.ok(Math.abs(a.loss - 2.5) < 1e-14 && Math.abs(b.loss - 7) < 1e-14);
  assert.deepEqual(Array.from(b.dlogp), [0, 0, -1, 0]);
  assert.throws(() => obj.slice(1, 5), /slice \[1, 5\) of 4 windows/);
});

test('segmentStarts: where each position\'s segment begins, hand-written', () => {
  // Two windows of W = 5 (S = 4): [7 7 8 8 8], [1 2 2 3 3].
  const seg = Int32Array.of(7, 7, 8, 8, 8, 1, 2, 2, 3, 3);
  assert.deepEqual(Array.from(segmentStarts(seg, 2, 5, 4)), [0, 0, 2, 2, 0, 1, 1, 3]);
  const b = sliceBatch({ tokens: new Int32Array(10), segments: seg }, 5, 1, 2);
  assert.deepEqual(Array.from(b.segments!), [1, 2, 2, 3, 3]);
});

const c = microConfig();
const S = 5, W = S + 1 + c.num_nextn_predict_layers;

test('whole model under a masked objective with packed segments: backward matches finite differences', () => {
  const rng = new Rng(23);
  const P = buildParams(c, alloc64, rng);
  const B = 2;
  const tokens = new Int32Array(B * W).map(() => rng.int(c.vocab_size));
  const segments = Int32Array.of(0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2);
  const w = Float64Array.of(0, 0.2, 0.1, 0, 0.3, 0, 0.1, 0.1, 0, 0.2);
  const mtp = [Float64Array.of(0.5, 0, 0, 0, 0, 0.25, 0, 0, 0.25, 0)];
  const r = gradCheck(P, undefined, (bw) => {
    const res = step(ctx64, P, c, tokens, B, S, { alpha: 0.05, mtpLambda: 0.3, backward: bw, segments, objective: weightedCrossEntropy(w, S, mtp) });
    return { value: res.loss };
  }, rng, { perParam: 3 });
  assert.ok(r.count > 50);
});

test('packed samples see nothing of each other: each sample\'s loss alone equals its part of the packed window', () => {
  const rng = new Rng(24);
  const P = buildParams(c, alloc64, rng);
  // Sample A (3 tokens + its MTP tail masked) then sample B in one window; alone, each sits at the start of a window.
  const a = [3, 1, 4], b = [1, 5, 9, 2, 6];
  const packed = Int32Array.from([...a, ...b].slice(0, W));
  const segments = Int32Array.from([0, 0, 0, 1, 1, 1, 1]);
  // Main-head loss on B's targets only (positions 3, 4 predict 9, 2): B's positions start at 3.
  const wPacked = Float64Array.of(0, 0, 0, 0.5, 0.5);
  const fPacked = step(ctx64, P, c, packed, 1, S, { alpha: 0, mtpLambda: 0, backward: false, segments, objective: weightedCrossEntropy(wPacked, S, [new Float64Array(S)]) });
  const alone = Int32Array.from([...b, 0, 0]);
  const wAlone = Float64Array.of(0.5, 0.5, 0, 0, 0);
  const fAlone = step(ctx64, P, c, alone, 1, S, { alpha: 0, mtpLambda: 0, backward: false, objective: weightedCrossEntropy(wAlone, S, [new Float64Array(S)]) });
  assert.ok(Math.abs(fPacked.mainLoss - fAlone.mainLoss) < 1e-12, `${fPacked.mainLoss} vs ${fAlone.mainLoss}`);
  // Without segments the packed window's B attends to A: a different loss.
  const fMixed = step(ctx64, P, c, packed, 1, S, { alpha: 0, mtpLambda: 0, backward: false, objective: weightedCrossEntropy(wPacked, S, [new Float64Array(S)]) });
  assert.ok(Math.abs(fMixed.mainLoss - fAlone.mainLoss) > 1e-6);
});

test('an objective without MTP targets skips the MTP modules: no MTP loss, no MTP gradient', () => {
  const rng = new Rng(25);
  const P = buildParams(c, alloc64, rng);
  const tokens = new Int32Array(2 * W).map(() => rng.int(c.vocab_size));
  P.zeroGrad();
  const r = step(ctx64, P, c, tokens, 2, S, { alpha: 0, mtpLambda: 0.3, backward: true, objective: weightedCrossEntropy(new Float64Array(2 * S).fill(0.1), S) });
  assert.equal(r.mtpLoss, 0);
  const eh = P.get(`model.layers.${c.num_hidden_layers}.eh_proj.weight`);
  assert.ok(eh.grad.every((g) => g === 0));
  assert.ok(P.get('lm_head.weight').grad.some((g) => g !== 0));
});

test('data-parallel slices under an objective: the mean of the slices\' gradients is the whole batch\'s', () => {
  const rng = new Rng(26);
  const P = buildParams(c, alloc64, rng);
  const B = 4;
  const tokens = new Int32Array(B * W).map(() => rng.int(c.vocab_size));
  const w = new Float64Array(B * S).map((_, i) => (i % 3 === 0 ? 0 : 1));
  const sum = w.reduce((x, y) => x + y, 0);
  w.forEach((v, i) => (w[i] = v / sum));
  const batch = { tokens, objective: weightedCrossEntropy(w, S, [w.slice()]) };
  P.zeroGrad();
  const whole = step(ctx64, P, c, tokens, B, S, { alpha: 0, mtpLambda: 0.3, backward: true, objective: batch.objective });
  const g = Float64Array.from(P.get('model.layers.0.self_attn.o_proj.weight').grad);
  P.zeroGrad();
  let loss = 0;
  for (const [from, to] of [[0, 2], [2, 4]]) {
    const s = sliceBatch(batch, W, from, to);
    loss += step(ctx64, P, c, s.tokens, 2, S, { alpha: 0, mtpLambda: 0.3, backward: true, objective: s.objective }).loss / 2;
  }
  const g2 = P.get('model.layers.0.self_attn.o_proj.weight').grad;
  assert.ok(Math.abs(loss - whole.loss) < 1e-12, `${loss} vs ${whole.loss}`);
  for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g2[i] / 2 - g[i]) < 1e-12, `grad ${i}`);
});
