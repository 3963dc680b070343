// GRPO's pure pieces: group-normalised advantages on hand-computed groups, the per-token loss against DeepSeekMath
// eq. (3)/(4) written out by hand, and its gradient ∂L/∂log π against central finite differences of the loss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupAdvantages, meanStd } from '../../../runtime/src/post/advantages.js';
import { grpoLoss, type GrpoTokens } from '../../../runtime/src/post/grpo-loss.js';
import { targetLogProbs } from '../../../runtime/src/model/loss.js';

const close = (a: number, b: number, tol = 1e-9): void => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('advantages: (r − mean) / (std + eps) per group; an all-equal group gives zeros and no signal', () => {
  // Group 1: rewards 1, 0, 0, 1 → mean 0.5, population std 0.5 → ±1/(0.5+eps).
  // Group 2: 1, 1, 1, 1 → no signal. Group 3: 0, 0, 0, 3 → mean 0.75, std sqrt((3·0.5625 + 5.0625)/4) = 1.299038...
  const s = groupAdvantages([1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 3], 4, 1e-4);
  assert.equal(s.groups, 3);
  assert.equal(s.groupsWithSignal, 2);
  close(s.advantages[0], 0.5 / 0.5001);
  close(s.advantages[1], -0.5 / 0.5001);
  for (let i = 4; i < 8; i++) assert.equal(s.advantages[i], 0);
  const std3 = Math.sqrt((3 * 0.75 ** 2 + 2.25 ** 2) / 4);
  close(std3, 1.299038105676658, 1e-12);
  close(s.advantages[11], 2.25 / (std3 + 1e-4));
  close(s.advantages[8], -0.75 / (std3 + 1e-4));
  assert.throws(() => groupAdvantages([1, 2, 3], 2), /do not split into groups of 2/);
  assert.deepEqual(meanStd([1, 3]), { mean: 2, std: 1 });
});

function tokens(): { g: GrpoTokens; logp: Float64Array } {
  // 2 sequences over 6 rows: rows 1,2 belong to sequence 0 (length 2), rows 3,4,5 to sequence 1 (length 3); row 0 is prompt.
  const g: GrpoTokens = {
    seq: Int32Array.of(-1, 0, 0, 1, 1, 1),
    oldLogp: Float64Array.of(0, -1.0, -0.5, -2.0, -0.3, -1.2),
    refLogp: Float64Array.of(0, -1.1, -0.4, -2.5, -0.3, -0.9),
    advantage: Float64Array.of(1.5, -0.7),
    length: Int32Array.of(2, 3),
    sequences: 4, // the step has 4 sequences in all (two on another rank)
    clipEpsilon: 0.2,
    klCoef: 0.04,
  };
  // Ratios: row1 e^{0.3}=1.35 (clipped for A>0), row2 e^{-0.05}, row3 e^{0.5}=1.65 (A<0: unclipped branch smaller), row4 1, row5 e^{-0.4}=0.67 (A<0: clipped).
  return { g, logp: Float64Array.of(-3, -0.7, -0.55, -1.5, -0.3, -1.6) };
}

test('loss: DeepSeekMath eq. (3) with the k3 KL of eq. (4), written out term by term', () => {
  const { g, logp } = tokens();
  const r = grpoLoss(logp, g);
  let J = 0;
  for (let t = 1; t < 6; t++) {
    const i = g.seq[t];
    const A = g.advantage[i];
    const rho = Math.exp(logp[t] - g.oldLogp[t]);
    const clipped = Math.min(Math.max(rho, 0.8), 1.2);
    const kl = Math.exp(g.refLogp[t] - logp[t]) - (g.refLogp[t] - logp[t]) - 1;
    J += (1 / 4) * (1 / g.length[i]) * (Math.min(rho * A, clipped * A) - 0.04 * kl);
  }
  close(r.loss, -J, 1e-12);
  assert.equal(r.tokens, 5);
  assert.equal(r.clipped, 2); // rows 1 (A > 0, ρ > 1.2) and 5 (A < 0, ρ < 0.8)
  assert.equal(r.dlogp[0], 0);
  assert.ok(r.klSum > 0);
});

test('gradient: ∂L/∂log π matches central differences of the loss (rows away from the clip boundary)', () => {
  const { g, logp } = tokens();
  const r = grpoLoss(logp, g);
  const h = 1e-6;
  for (let t = 0; t < 6; t++) {
    const p = Float64Array.from(logp), m = Float64Array.from(logp);
    p[t] += h;
    m[t] -= h;
    const fd = (grpoLoss(p, g).loss - grpoLoss(m, g).loss) / (2 * h);
    close(r.dlogp[t], fd, 1e-7);
  }
  // Where the ratio is clipped only the KL term remains: −w·(−β·(1 − π_ref/π)).
  const w = 1 / (4 * 2);
  close(r.dlogp[1], w * 0.04 * (1 - Math.exp(-1.1 + 0.7)), 1e-12);
});

test('at π = π_old = π_ref the loss gradient is −A/(N·|o|) per token and the KL is 0', () => {
  const g: GrpoTokens = { seq: Int32Array.of(0, 0, 1), oldLogp: Float64Array.of(-1, -2, -3), refLogp: Float64Array.of(-1, -2, -3),
    advantage: Float64Array.of(2, -1), length: Int32Array.of(2, 1), sequences: 2, clipEpsilon: 0.2, klCoef: 0.5 };
  const r = grpoLoss(Float64Array.of(-1, -2, -3), g);
  close(r.klSum, 0);
  close(r.dlogp[0], -2 / 4);
  close(r.dlogp[2], 1 / 2);
  close(r.loss, -((2 + 2) / 4 + -1 / 2));
});

test('targetLogProbs (the reference policy\'s log-probabilities): log-softmax at the target, hand-checked', () => {
  const lp = targetLogProbs(Float32Array.of(1, 2, 3, 0, 0, 0), [0, 2], 2, 3).logp;
  close(lp[0], 1 - 3.40760596444438, 1e-6);
  close(lp[1], Math.log(1 / 3), 1e-12);
});
